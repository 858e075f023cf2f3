/**
 * Fixed UTC calendar windows. Minutes and days are whole multiples of epoch milliseconds (epoch time
 * has no leap seconds, so every UTC day is exactly 86 400 000 ms); months follow the calendar.
 */
export type WindowKind = 'minute' | 'day' | 'month';

export const WINDOW_KINDS: readonly WindowKind[] = ['minute', 'day', 'month'];

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** Start (inclusive, epoch ms) of the window that contains `t`. */
export function windowStart(kind: WindowKind, t: number): number {
  if (kind === 'minute') return Math.floor(t / MINUTE_MS) * MINUTE_MS;
  if (kind === 'day') return Math.floor(t / DAY_MS) * DAY_MS;
  const d = new Date(t);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

/** End (exclusive, epoch ms) of the window that contains `t`: the moment it resets. */
export function windowEnd(kind: WindowKind, t: number): number {
  if (kind === 'minute') return windowStart(kind, t) + MINUTE_MS;
  if (kind === 'day') return windowStart(kind, t) + DAY_MS;
  const d = new Date(t);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/** Whole seconds from `t` until the window resets, never less than 1 (a Retry-After of 0 invites a tight loop). */
export function secondsUntilReset(kind: WindowKind, t: number): number {
  return Math.max(1, Math.ceil((windowEnd(kind, t) - t) / 1000));
}

/** Length of the window containing `t`, in seconds (months vary: 28 to 31 days). */
export function windowSeconds(kind: WindowKind, t: number): number {
  return (windowEnd(kind, t) - windowStart(kind, t)) / 1000;
}
