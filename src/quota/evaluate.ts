import type { Bucket, CounterDimension } from './counters.js';
import { LIMIT_NAMES, LIMITS, type LimitName, type LimitRule } from './policy.js';
import { addUnit } from '../calendar.js';
import { secondsUntilReset, windowStart } from './windows.js';

/** When only in-flight reservations stand in the way, capacity returns as soon as they settle. */
export const BUSY_RETRY_SECONDS = 1;

/** A rule that matches the request, with the counters of the traffic it limits. */
export interface AppliedRule {
  rule: LimitRule;
  dim: CounterDimension;
  value: string;
  bucket: Bucket;
}

/** One limit of one rule, as the caller sees it right now. */
export interface Measure {
  /** Policy name used in headers and messages: `tpd`, `key/rpm`, `model/gemini-2.5-pro/tpm`. */
  id: string;
  name: LimitName;
  rule: AppliedRule;
  limit: number;
  /** Settled usage in the current window (requests or tokens), or requests in flight for max_concurrent. */
  used: number;
  /** Tokens held by in-flight requests (0 for request limits). */
  reserved: number;
  remaining: number;
  /** Epoch ms of the next reset; null for max_concurrent. */
  resetsAt: number | null;
  windowSeconds: number | null;
}

export interface Violation extends Measure {
  retryAfter: number;
}

export function policyId(a: Pick<AppliedRule, 'dim' | 'value'>, name: LimitName): string {
  const short = LIMITS[name].short;
  if (a.dim === 'key') return `key/${short}`;
  if (a.dim === 'model') return `model/${a.value}/${short}`;
  return short;
}

/** Every limit of every applied rule, measured at `now`. */
export function measureAll(applied: AppliedRule[], now: number): Measure[] {
  const out: Measure[] = [];
  for (const a of applied) {
    for (const name of LIMIT_NAMES) {
      const limit = a.rule[name];
      if (limit !== undefined) out.push(measure(a, name, limit, now));
    }
  }
  return out;
}

// Runs for every limit of every matching rule, twice per admitted request: one literal per result
// (an object spread put each on V8's slow path: ~10% of CPU with limits set), window bounds once.
function measure(a: AppliedRule, name: LimitName, limit: number, now: number): Measure {
  const { window, unit } = LIMITS[name];
  const b = a.bucket;
  const id = policyId(a, name);
  if (window === null) {
    return { id, name, rule: a, limit, used: b.inFlight, reserved: 0, remaining: Math.max(0, limit - b.inFlight), resetsAt: null, windowSeconds: null };
  }
  const w = b.windows[window];
  const used = unit === 'tokens' ? w.tokens : w.requests;
  const reserved = unit === 'tokens' ? b.held : 0;
  const start = windowStart(window, now);
  const end = addUnit(window, start);
  return { id, name, rule: a, limit, used, reserved, remaining: Math.max(0, limit - used - reserved), resetsAt: end, windowSeconds: (end - start) / 1000 };
}

/**
 * The limits this request would break if admitted. A token estimate larger than a limit is capped at
 * the limit, so such a request still runs alone in an empty window instead of never.
 */
export function violations(measures: Measure[], estimate: number, now: number): Violation[] {
  const out: Violation[] = [];
  for (const m of measures) {
    const { window, unit } = LIMITS[m.name];
    if (window === null) {
      if (m.used + 1 > m.limit) out.push({ ...m, retryAfter: BUSY_RETRY_SECONDS });
    } else if (unit === 'requests') {
      if (m.used + 1 > m.limit) out.push({ ...m, retryAfter: secondsUntilReset(window, now) });
    } else if (estimate > 0) {
      const need = Math.max(1, Math.min(estimate, m.limit));
      if (m.used + m.reserved + need > m.limit) {
        const freesOnSettle = m.used + need <= m.limit && m.limit > 0;
        out.push({ ...m, retryAfter: freesOnSettle ? BUSY_RETRY_SECONDS : secondsUntilReset(window, now) });
      }
    }
  }
  return out;
}
