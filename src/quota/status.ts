import type { Bucket } from './counters.js';
import type { Measure } from './evaluate.js';
import { LIMITS, type LimitName, type ProjectLimits } from './policy.js';
import type { WindowKind } from './windows.js';

export interface LimitStatus {
  /** The name used in RateLimit headers and error messages. */
  policy: string;
  limit: LimitName;
  scope: 'project' | 'key' | 'model';
  key_id?: string;
  model?: string;
  value: number;
  /** Settled usage in the current window, or requests in flight for max_concurrent. */
  used: number;
  /** Tokens held by requests still in flight (their estimate, or their running usage if larger). */
  reserved: number;
  remaining: number;
  window: WindowKind | null;
  resets_at: string | null;
}

export interface QuotaStatus {
  hard_cap: boolean;
  in_flight: { requests: number; reserved_tokens: number };
  limits: LimitStatus[];
}

/** The JSON shape of GET /gateway/v1/quota (and of the CLI's `limits get --json` usage). */
export function quotaStatus(policy: ProjectLimits | undefined, measures: Measure[], project: Bucket): QuotaStatus {
  return {
    hard_cap: policy?.hard_cap ?? false,
    in_flight: { requests: project.inFlight, reserved_tokens: project.held },
    limits: measures.map((m) => ({
      policy: m.id,
      limit: m.name,
      scope: m.rule.dim,
      ...(m.rule.dim === 'key' ? { key_id: m.rule.value } : m.rule.dim === 'model' ? { model: m.rule.value } : {}),
      value: m.limit,
      used: m.used,
      reserved: m.reserved,
      remaining: m.remaining,
      window: LIMITS[m.name].window,
      resets_at: m.resetsAt === null ? null : new Date(m.resetsAt).toISOString(),
    })),
  };
}
