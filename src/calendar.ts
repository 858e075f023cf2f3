/**
 * The one UTC calendar: quota windows (minute, day, month) and usage buckets and ranges (hour,
 * day, month), all in epoch ms. Minutes, hours and days are whole multiples of epoch milliseconds
 * (epoch time has no leap seconds, so every UTC day is exactly 86 400 000 ms); months follow the calendar.
 */
type TimeUnit = 'minute' | 'hour' | 'day' | 'month';

const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

const FIXED_MS: Record<Exclude<TimeUnit, 'month'>, number> = { minute: MINUTE_MS, hour: HOUR_MS, day: DAY_MS };

/** Start (inclusive) of the unit that contains `ms`. */
export function floorTo(unit: TimeUnit, ms: number): number {
  if (unit !== 'month') return ms - mod(ms, FIXED_MS[unit]);
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

export function ceilTo(unit: TimeUnit, ms: number): number {
  const f = floorTo(unit, ms);
  return f === ms ? ms : addUnit(unit, f);
}

/** The start of the next unit after `start` (which must be a unit start). */
export function addUnit(unit: TimeUnit, start: number): number {
  if (unit !== 'month') return start + FIXED_MS[unit];
  const d = new Date(start);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/** Bucket label: full ISO for minutes and hours, `YYYY-MM-DD` for days, `YYYY-MM` for months. */
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

/** The units usage rollups keep, finest first. */
export const BUCKET_UNITS_FINE_TO_COARSE = ['hour', 'day', 'month'] as const;
export type BucketUnit = (typeof BUCKET_UNITS_FINE_TO_COARSE)[number];
