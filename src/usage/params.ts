import { z } from '@hono/zod-openapi';
import { GatewayError } from '../errors.js';
import type { Outcome } from '../metering/row.js';
import type { UsageFilters } from './filters.js';
import { MODALITIES } from '../metering/modality.js';
import { ceilTo, DAY_MS, parseIsoInstant, type BucketUnit } from '../calendar.js';

/** A Record, so adding an outcome to the row type without listing it here fails to compile. */
const OUTCOME_NAMES: Record<Outcome, true> = {
  ok: true, upstream_error: true, client_aborted: true, upstream_aborted: true, upstream_timeout: true, gateway_error: true, quota_cut: true, token_expired: true,
};
export const OUTCOMES = Object.keys(OUTCOME_NAMES) as [Outcome, ...Outcome[]];
export const TIME_UNITS = ['hour', 'day', 'month'] as const;
export const DIMENSIONS = ['tenant', 'project', 'key', 'model', 'endpoint', 'outcome'] as const;
export type Dimension = (typeof DIMENSIONS)[number];
export type GroupKey = BucketUnit | Dimension;
/** Not a rollup column: the aggregate is split into one row per modality after summing (usage/modality-groups.ts). */
export const MODALITY_GROUP = 'modality';

const iso = (what: string) => z.string().optional().openapi({ description: `${what}: ISO 8601 date (2025-06-01) or date-time (2025-06-01T13:00:00Z; no offset means UTC)` });

/** The filters shared by the aggregate and the raw listing, admin and self-service alike. */
export const filterParams = z.object({
  tenant: z.string().min(1).optional().openapi({ description: 'Tenant id (ten_…) or slug' }),
  project: z.string().min(1).optional().openapi({ description: 'Project id (prj_…) or slug' }),
  key: z.string().min(1).optional().openapi({ description: 'Key id (key_…) or display prefix (ggw_…)' }),
  model: z.string().min(1).optional(),
  endpoint: z.string().min(1).optional().openapi({ description: 'e.g. generateContent, streamGenerateContent, interactions.create' }),
  outcome: z.enum(OUTCOMES).optional(),
  from: iso('Start, inclusive'),
  to: iso('End, exclusive'),
});

export const aggregateParams = filterParams.extend({
  groupBy: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .openapi({ description: `Comma-separated: any of ${[...TIME_UNITS, ...DIMENSIONS, MODALITY_GROUP].join(', ')}` }),
  modality: z.enum(MODALITIES).optional().openapi({ description: 'Only this modality\'s tokens, one row per group (implies groupBy=modality)' }),
  format: z.enum(['json', 'csv']).default('json'),
});

export const eventsParams = filterParams.extend({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().optional().openapi({ description: 'nextCursor from the previous page' }),
  format: z.enum(['json', 'csv']).default('json'),
});

export function pickFilters(q: z.infer<typeof filterParams>): UsageFilters {
  const { tenant, project, key, model, endpoint, outcome } = q;
  return Object.fromEntries(Object.entries({ tenant, project, key, model, endpoint, outcome }).filter(([, v]) => v !== undefined));
}

/** `groupBy=day,model` (or repeated) → validated keys, deduplicated, in the order given; `modality` is reported apart. */
export function parseGroupBy(v: string | string[] | undefined): GroupKey[] & { byModality?: boolean } {
  const parts = (Array.isArray(v) ? v : [v ?? '']).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  const allowed = new Set<string>([...TIME_UNITS, ...DIMENSIONS, MODALITY_GROUP]);
  const bad = parts.filter((p) => !allowed.has(p));
  if (bad.length) throw new GatewayError('invalid_argument', `Unknown groupBy ${bad.map((b) => `"${b}"`).join(', ')}; use any of ${[...allowed].join(', ')}.`);
  const keys: GroupKey[] & { byModality?: boolean } = [...new Set(parts.filter((p) => p !== MODALITY_GROUP))] as GroupKey[];
  if (parts.includes(MODALITY_GROUP)) keys.byModality = true;
  return keys;
}

export interface RangeOptions {
  now: number;
  maxRangeDays: number;
  /** Aggregates default to the last 30 days; raw listings to no bound at all. */
  defaultToRecent: boolean;
}

function instant(name: 'from' | 'to', s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const ms = parseIsoInstant(s);
  if (ms === null) throw new GatewayError('invalid_argument', `${name}: expected an ISO 8601 date (2025-06-01) or date-time (2025-06-01T13:00:00Z), got "${s}".`);
  return ms;
}

/**
 * Validates from/to. Aggregates default to the 30 days up to the end of the current hour; raw
 * listings default to unbounded. Every failure is a 400 that says what to send instead.
 */
export function resolveRange(q: { from?: string; to?: string }, o: RangeOptions): { from: number | undefined; to: number | undefined } {
  let from = instant('from', q.from);
  let to = instant('to', q.to);
  if (o.defaultToRecent) {
    to ??= ceilTo('hour', o.now + 1);
    from ??= to - 30 * DAY_MS;
  }
  if (from !== undefined && to !== undefined) {
    if (from > to) throw new GatewayError('invalid_argument', `from (${q.from}) is after to (${q.to ?? 'now'}).`);
    const days = (to - from) / DAY_MS;
    if (days > o.maxRangeDays) {
      throw new GatewayError('invalid_argument', `The range spans ${Math.ceil(days)} days; the maximum is ${o.maxRangeDays} (USAGE_MAX_RANGE_DAYS). Narrow from/to.`);
    }
  }
  return { from, to };
}
