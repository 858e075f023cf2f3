// The OpenAPI-extended zod: schemas built before the extension loads would lack .openapi() for the admin API.
import { z } from '@hono/zod-openapi';
import type { WindowKind } from './windows.js';

/**
 * Every limit a rule can set, by its API field name, with the window it counts in (null: a level,
 * not a window), its unit, its RateLimit policy name (`short`) and the name Google-shaped answers
 * use (`metric`: QuotaFailure's quotaMetric, refusal messages, the Prometheus label), which keeps
 * the snake_case of Google's own quota metrics.
 */
export const LIMITS = {
  requestsPerMinute: { window: 'minute', unit: 'requests', short: 'rpm', metric: 'requests_per_minute' },
  tokensPerMinute: { window: 'minute', unit: 'tokens', short: 'tpm', metric: 'tokens_per_minute' },
  tokensPerDay: { window: 'day', unit: 'tokens', short: 'tpd', metric: 'tokens_per_day' },
  tokensPerMonth: { window: 'month', unit: 'tokens', short: 'tpmo', metric: 'tokens_per_month' },
  maxConcurrent: { window: null, unit: 'concurrent-requests', short: 'concurrency', metric: 'max_concurrent' },
} as const satisfies Record<string, { window: WindowKind | null; unit: string; short: string; metric: string }>;

export type LimitName = keyof typeof LIMITS;
export const LIMIT_NAMES = Object.keys(LIMITS) as LimitName[];
export const isTokenLimit = (name: LimitName): boolean => LIMITS[name].unit === 'tokens';

const amount = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/**
 * One rule: limits for the whole project, or narrowed to one key (`keyId`) or one model (`model`).
 * A request is checked against every rule that matches it; each rule counts only the matching traffic.
 */
export const limitRuleSchema = z
  .strictObject({
    keyId: z.string().min(1).optional(),
    model: z
      .string()
      .min(1)
      .transform((m) => m.replace(/^models\//, ''))
      .optional(),
    requestsPerMinute: amount.optional(),
    tokensPerMinute: amount.optional(),
    tokensPerDay: amount.optional(),
    tokensPerMonth: amount.optional(),
    maxConcurrent: amount.optional(),
  })
  .refine((r) => !(r.keyId && r.model), { message: 'narrow a rule to one key or one model, not both' })
  .refine((r) => LIMIT_NAMES.some((n) => r[n] !== undefined), { message: `a rule needs at least one of ${LIMIT_NAMES.join(', ')}` });

export type LimitRule = z.infer<typeof limitRuleSchema>;

export const projectLimitsSchema = z
  .strictObject({
    /** End in-flight streams with an error frame once their running usage would exceed a token budget. */
    hardCap: z.boolean().default(false),
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
export function ruleScope(r: Pick<LimitRule, 'keyId' | 'model'>): string {
  if (r.keyId) return `key:${r.keyId}`;
  if (r.model) return `model:${r.model}`;
  return 'project';
}
