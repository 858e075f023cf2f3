// The OpenAPI-extended zod: schemas built before the extension loads would lack .openapi() for the admin API.
import { z } from '@hono/zod-openapi';
import type { WindowKind } from './windows.js';

/** Every limit a rule can set, with the window it counts in (null: a level, not a window) and its unit. */
export const LIMITS = {
  requests_per_minute: { window: 'minute', unit: 'requests', short: 'rpm' },
  tokens_per_minute: { window: 'minute', unit: 'tokens', short: 'tpm' },
  tokens_per_day: { window: 'day', unit: 'tokens', short: 'tpd' },
  tokens_per_month: { window: 'month', unit: 'tokens', short: 'tpmo' },
  max_concurrent: { window: null, unit: 'concurrent-requests', short: 'concurrency' },
} as const satisfies Record<string, { window: WindowKind | null; unit: string; short: string }>;

export type LimitName = keyof typeof LIMITS;
export const LIMIT_NAMES = Object.keys(LIMITS) as LimitName[];
export const isTokenLimit = (name: LimitName): boolean => LIMITS[name].unit === 'tokens';

const amount = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/**
 * One rule: limits for the whole project, or narrowed to one key (`key_id`) or one model (`model`).
 * A request is checked against every rule that matches it; each rule counts only the matching traffic.
 */
export const limitRuleSchema = z
  .strictObject({
    key_id: z.string().min(1).optional(),
    model: z
      .string()
      .min(1)
      .transform((m) => m.replace(/^models\//, ''))
      .optional(),
    requests_per_minute: amount.optional(),
    tokens_per_minute: amount.optional(),
    tokens_per_day: amount.optional(),
    tokens_per_month: amount.optional(),
    max_concurrent: amount.optional(),
  })
  .refine((r) => !(r.key_id && r.model), { message: 'narrow a rule to one key or one model, not both' })
  .refine((r) => LIMIT_NAMES.some((n) => r[n] !== undefined), { message: `a rule needs at least one of ${LIMIT_NAMES.join(', ')}` });

export type LimitRule = z.infer<typeof limitRuleSchema>;

export const projectLimitsSchema = z
  .strictObject({
    /** End in-flight streams with an error frame once their running usage would exceed a token budget. */
    hard_cap: z.boolean().default(false),
    limits: z.array(limitRuleSchema).max(200),
  })
  .superRefine((p, ctx) => {
    const seen = new Set<string>();
    p.limits.forEach((r, i) => {
      const scope = ruleScope(r);
      if (seen.has(scope)) ctx.addIssue({ code: 'custom', path: ['limits', i], message: `more than one rule for ${scope}` });
      seen.add(scope);
    });
  });

export type ProjectLimits = z.infer<typeof projectLimitsSchema>;

/** 'project', 'key:<id>' or 'model:<name>': what a rule counts. */
export function ruleScope(r: Pick<LimitRule, 'key_id' | 'model'>): string {
  if (r.key_id) return `key:${r.key_id}`;
  if (r.model) return `model:${r.model}`;
  return 'project';
}
