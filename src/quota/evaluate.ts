import type { Bucket } from './counters.js';
import { LIMITS } from './policy.js';
import type { CompiledRule, RuleLimit } from './rule-limits.js';
import { addUnit } from '../calendar.js';
import { secondsUntilReset, windowStart } from './windows.js';

/** When only in-flight reservations stand in the way, capacity returns as soon as they settle. */
export const BUSY_RETRY_SECONDS = 1;

/** A rule that matches the request, with the counters of the traffic it limits. */
export interface AppliedRule extends CompiledRule {
  bucket: Bucket;
}

/** One limit of one rule, as the caller sees it right now. */
export interface Measure extends RuleLimit {
  rule: AppliedRule;
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

/** Every limit of every applied rule, measured at `now`. */
export function measureAll(applied: AppliedRule[], now: number): Measure[] {
  const out: Measure[] = [];
  for (const a of applied) for (const l of a.limits) out.push(measure(a, l, now));
  return out;
}

// Runs for every limit of every matching rule of every limited request: one literal per result
// (an object spread put each on V8's slow path: ~10% of CPU with limits set), window bounds once.
function measure(a: AppliedRule, l: RuleLimit, now: number): Measure {
  const { name, limit, id, quoted, policyItem } = l;
  const { window, unit } = LIMITS[name];
  const b = a.bucket;
  if (window === null) {
    const used = b.inFlight;
    return { name, limit, id, quoted, policyItem, rule: a, used, reserved: 0, remaining: Math.max(0, limit - used), resetsAt: null, windowSeconds: null };
  }
  const w = b.windows[window];
  const used = unit === 'tokens' ? w.tokens : w.requests;
  const reserved = unit === 'tokens' ? b.held : 0;
  const start = windowStart(window, now);
  const end = addUnit(window, start);
  return { name, limit, id, quoted, policyItem, rule: a, used, reserved, remaining: Math.max(0, limit - used - reserved), resetsAt: end, windowSeconds: (end - start) / 1000 };
}

/**
 * The same measures once the request is admitted: one more request in its windows and in flight,
 * its estimate held. Equal to measuring again after reserving, because every matching rule's bucket
 * is one the lease reserves on; admission measures once instead of twice.
 */
export function afterReserving(measures: Measure[], estimate: number): Measure[] {
  for (const m of measures) {
    const unit = LIMITS[m.name].unit;
    if (unit === 'tokens') m.reserved += estimate;
    else m.used += 1;
    m.remaining = Math.max(0, m.limit - m.used - m.reserved);
  }
  return measures;
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
