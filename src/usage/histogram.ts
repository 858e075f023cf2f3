/**
 * Fixed latency buckets shared by the rollups and the query API. Percentiles come from bucket
 * counts (interpolated inside the bucket), so they are approximations whose error is bounded by
 * the bucket width — roughly ±25% at these roughly geometric bounds. Changing the bounds needs a
 * migration: each bucket is a rollup column.
 */
export const LATENCY_BOUNDS_MS = [
  5, 10, 25, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 7500, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000,
] as const;

/** One count per bound plus the overflow bucket. */
export const BUCKETS = LATENCY_BOUNDS_MS.length + 1;

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
