/** UTC calendar arithmetic for rollup buckets and query ranges (all epoch ms). */
export type TimeUnit = 'hour' | 'day' | 'month';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

export function floorTo(unit: TimeUnit, ms: number): number {
  if (unit === 'hour') return ms - mod(ms, HOUR_MS);
  if (unit === 'day') return ms - mod(ms, DAY_MS);
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

export function ceilTo(unit: TimeUnit, ms: number): number {
  const f = floorTo(unit, ms);
  return f === ms ? ms : addUnit(unit, f);
}

/** The start of the next bucket after `start` (which must be a bucket start). */
export function addUnit(unit: TimeUnit, start: number): number {
  if (unit === 'hour') return start + HOUR_MS;
  if (unit === 'day') return start + DAY_MS;
  const d = new Date(start);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/** Bucket label: full ISO for hours, `YYYY-MM-DD` for days, `YYYY-MM` for months. */
export function formatBucket(unit: TimeUnit, ms: number): string {
  const iso = new Date(ms).toISOString();
  if (unit === 'day') return iso.slice(0, 10);
  if (unit === 'month') return iso.slice(0, 7);
  return iso;
}

const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * Strict ISO 8601 (a date, or a date-time with an optional offset; no offset means UTC) → epoch
 * ms, or null. Date.parse alone would accept "June 1" and read offset-less times as local time.
 */
export function parseIsoInstant(s: string): number | null {
  const m = ISO_8601.exec(s.trim());
  if (!m) return null;
  const [, y, mo, d, h = '00', mi = '00', sec = '00', frac = '', off] = m;
  const offset = !off || off.toUpperCase() === 'Z' ? 'Z' : off.length === 5 ? `${off.slice(0, 3)}:${off.slice(3)}` : off;
  const text = `${y}-${mo}-${d}T${h}:${mi}:${sec}.${(frac + '000').slice(0, 3)}${offset}`;
  // Date.parse rolls 2025-02-30 over to March and 24:00 to the next day: check the fields first.
  const daysInMonth = new Date(Date.UTC(Number(y), Number(mo), 0)).getUTCDate();
  if (Number(d) < 1 || Number(d) > daysInMonth || Number(h) > 23 || Number(mi) > 59 || Number(sec) > 59) return null;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : ms;
}

function mod(a: number, b: number): number {
  return ((a % b) + b) % b;
}

export const TIME_UNITS_FINE_TO_COARSE: readonly TimeUnit[] = ['hour', 'day', 'month'];
