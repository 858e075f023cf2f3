/** Small guards shared by the modules that read untrusted JSON and URLs. */

export type Json = Record<string, unknown>;

/** A plain JSON object (not null, not an array). */
export const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A count upstream reported, as a whole number from 0 to 2^53 - 1 (anything else is 0 or clamped):
 * usage columns are integers, and on Postgres one fractional or out-of-range value would refuse the
 * ledger's whole batch at every retry. usage_json keeps the numbers as sent.
 */
export const wholeCount = (v: unknown): number => (typeof v === 'number' && v > 0 ? Math.min(Math.floor(v), Number.MAX_SAFE_INTEGER) : 0);

/** decodeURIComponent that returns malformed input unchanged instead of throwing. */
export function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
