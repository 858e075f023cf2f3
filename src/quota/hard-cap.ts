import type { GuardVerdict, StreamGuard } from '../exchange/stream-guard.js';
import type { Bucket, Cuttable } from './counters.js';
import { measureAll, type AppliedRule } from './evaluate.js';
import { isTokenLimit, LIMITS } from './policy.js';
import { hardCapError, type QuotaSubject } from './refusal.js';

/** What the hard cap tracks of one admitted stream. */
export interface CappedLease {
  subject: QuotaSubject;
  /** The token rules that matched at admission: where this stream can be cut from. */
  rules: AppliedRule[];
  estimate: number;
  /** Cumulative total tokens the stream has reported so far. */
  running: number;
  cutter: Cuttable | null;
}

export interface HardCapContext {
  now(): number;
  /** The rules that apply to the lease now, with their buckets rolled to `now`. */
  rulesOf(now: number): AppliedRule[];
  /** Every bucket the lease counts in (project, key, model). */
  bucketsOf(now: number): Bucket[];
}

/**
 * The per-project hard cap: a stream is ended on the first frame whose usage would take a token
 * budget (settled usage + what in-flight capped streams have reported) past its limit. That frame
 * is still delivered, and every other capped stream on the same budget is ended at once, so the
 * budget is exceeded by at most that one frame; a frame arriving when the budget is already spent
 * is not delivered at all.
 */
export function hardCapGuard(lease: CappedLease, ctx: HardCapContext): StreamGuard {
  function onUsage(total: number): GuardVerdict {
    const delta = total - lease.running;
    if (delta <= 0) return null;
    const now = ctx.now();
    let crossed: { error: ReturnType<typeof hardCapError>; bucket: Bucket } | null = null;
    for (const m of measureAll(ctx.rulesOf(now), now)) {
      const window = LIMITS[m.name].window;
      if (!isTokenLimit(m.name) || window === null) continue;
      const spent = m.rule.bucket.windows[window].tokens + m.rule.bucket.running;
      if (spent > m.limit) return { error: hardCapError(m, lease.subject), deliver: false };
      if (!crossed && spent + delta > m.limit) crossed = { error: hardCapError(m, lease.subject), bucket: m.rule.bucket };
    }
    for (const b of ctx.bucketsOf(now)) {
      b.running += delta;
      b.held += Math.max(lease.estimate, total) - Math.max(lease.estimate, lease.running);
    }
    lease.running = total;
    if (!crossed) return null;
    for (const other of [...crossed.bucket.capped]) if (other !== lease.cutter) other.cut(crossed.error);
    return { error: crossed.error, deliver: true };
  }

  return {
    onUsage,
    attach(cut) {
      lease.cutter = { cut };
      for (const a of lease.rules) a.bucket.capped.add(lease.cutter);
    },
    detach() {
      if (!lease.cutter) return;
      for (const a of lease.rules) a.bucket.capped.delete(lease.cutter);
      lease.cutter = null;
    },
  };
}
