import { BUCKETS, LATENCY_BOUNDS_MS } from '../db/schema/latency-buckets.js';

/** Index of the bucket holding `ms`: the first bound it does not exceed, or the overflow bucket. */
export function bucketOf(ms: number): number {
  let lo = 0;
  let hi: number = LATENCY_BOUNDS_MS.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ms <= LATENCY_BOUNDS_MS[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * The q-quantile (0 < q ≤ 1) of a histogram, linearly interpolated within its bucket; the
 * overflow bucket is bounded by the observed maximum. Null when the histogram is empty.
 */
export function percentile(counts: ArrayLike<number>, q: number, maxMs: number): number | null {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    if (c === 0 || seen + c < rank) {
      seen += c;
      continue;
    }
    const lower = i === 0 ? 0 : LATENCY_BOUNDS_MS[i - 1]!;
    const upper = Math.min(i < LATENCY_BOUNDS_MS.length ? LATENCY_BOUNDS_MS[i]! : maxMs, Math.max(maxMs, lower));
    return Math.round(lower + ((upper - lower) * (rank - seen)) / c);
  }
  return Math.round(maxMs);
}
