import v8 from 'node:v8';

/**
 * How far V8 lets the old generation grow past what the last full collection kept, before the next
 * one. V8's own factor (up to 4× on a small, fast-collecting heap like this one) made the gateway's
 * old generation saw between ~30 and ~90 MB under steady load, and RSS with it; at 1.5× it holds
 * near its live size. Set at run time, before the heap has grown: V8 reads the factor after each
 * full collection. A `--heap-growing-percent` given to node itself wins.
 */
export function applyHeapGrowingPercent(percent: number, execArgv: readonly string[] = process.execArgv): boolean {
  if (percent === 0 || execArgv.some((a) => a.startsWith('--heap-growing-percent') || a.startsWith('--heap_growing_percent'))) return false;
  v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
  return true;
}
