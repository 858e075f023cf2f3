// Small numeric helpers shared by the load clients and the report.

/** Percentile by nearest rank on an ascending-sorted array; NaN when empty. */
export function percentileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * n);
  return sorted[Math.min(n - 1, Math.max(0, rank - 1))]!;
}

export function sortNumbers(xs: ArrayLike<number>): Float64Array {
  const out = Float64Array.from(xs);
  out.sort();
  return out;
}

export function percentile(xs: ArrayLike<number>, p: number): number {
  return percentileSorted(sortNumbers(xs), p);
}

export interface Summary {
  count: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export function summarize(xs: ArrayLike<number>): Summary {
  const s = sortNumbers(xs);
  let sum = 0;
  for (let i = 0; i < s.length; i++) sum += s[i]!;
  return {
    count: s.length,
    min: s.length ? s[0]! : Number.NaN,
    p50: percentileSorted(s, 50),
    p90: percentileSorted(s, 90),
    p99: percentileSorted(s, 99),
    p999: percentileSorted(s, 99.9),
    max: s.length ? s[s.length - 1]! : Number.NaN,
    mean: s.length ? sum / s.length : Number.NaN,
  };
}

/** Median and range across rounds; values that are null/NaN are ignored. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function spread(values: Array<number | null | undefined>): Spread | null {
  const xs = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  if (xs.length === 0) return null;
  xs.sort((a, b) => a - b);
  const mid = xs.length >> 1;
  const median = xs.length % 2 ? xs[mid]! : (xs[mid - 1]! + xs[mid]!) / 2;
  return { median, min: xs[0]!, max: xs[xs.length - 1]!, n: xs.length };
}

/** A growable Float64 buffer, so hot loops don't allocate a boxed number per sample. */
export class Samples {
  private buf: Float64Array;
  length = 0;
  constructor(initial = 1024) {
    this.buf = new Float64Array(initial);
  }
  push(v: number): void {
    if (this.length === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = v;
  }
  values(): Float64Array {
    return this.buf.subarray(0, this.length);
  }
}

export function fmt(v: number | null | undefined, digits = 2): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return 'n/a';
  return v.toFixed(digits);
}

/** "median [min–max]" or "n/a". */
export function fmtSpread(s: Spread | null, digits = 2, scale = 1): string {
  if (!s) return 'n/a';
  const m = fmt(s.median * scale, digits);
  if (s.n === 1) return m;
  return `${m} [${fmt(s.min * scale, digits)}–${fmt(s.max * scale, digits)}]`;
}
