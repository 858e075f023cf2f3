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
