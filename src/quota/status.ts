import type { Bucket } from './counters.js';
import type { Measure } from './evaluate.js';
import { LIMITS, type LimitName, type ProjectLimits } from './policy.js';
import type { WindowKind } from './windows.js';

export interface LimitStatus {
  /** The name used in RateLimit headers and error messages. */
  policy: string;
  limit: LimitName;
  scope: 'project' | 'key' | 'model';
  keyId?: string;
  model?: string;
  value: number;
  /** Settled usage in the current window, or requests in flight for maxConcurrent. */
  used: number;
  /** Tokens held by requests still in flight (their estimate, or their running usage if larger). */
  reserved: number;
  remaining: number;
  window: WindowKind | null;
  resetsAt: string | null;
}

export interface QuotaStatus {
  hardCap: boolean;
  inFlight: { requests: number; reservedTokens: number };
  limits: LimitStatus[];
}

/** The JSON shape of GET /gateway/v1/quota (and of the CLI's `limits get --json` usage). */
export function quotaStatus(policy: ProjectLimits | undefined, measures: Measure[], project: Bucket): QuotaStatus {
  return {
    hardCap: policy?.hardCap ?? false,
    inFlight: { requests: project.inFlight, reservedTokens: project.held },
    limits: measures.map((m) => ({
      policy: m.id,
      limit: m.name,
      scope: m.rule.dim,
      ...(m.rule.dim === 'key' ? { keyId: m.rule.value } : m.rule.dim === 'model' ? { model: m.rule.value } : {}),
      value: m.limit,
      used: m.used,
      reserved: m.reserved,
      remaining: m.remaining,
      window: LIMITS[m.name].window,
      resetsAt: m.resetsAt === null ? null : new Date(m.resetsAt).toISOString(),
    })),
  };
}
