import { addUnit, floorTo } from '../calendar.js';

/** Quota windows are fixed UTC calendar units (calendar.ts): they reset on the minute, the day, the month. */
export type WindowKind = 'minute' | 'day' | 'month';

export const WINDOW_KINDS: readonly WindowKind[] = ['minute', 'day', 'month'];

/** Start (inclusive, epoch ms) of the window that contains `t`. */
export function windowStart(kind: WindowKind, t: number): number {
  return floorTo(kind, t);
}

/** End (exclusive, epoch ms) of the window that contains `t`: the moment it resets. */
export function windowEnd(kind: WindowKind, t: number): number {
  return addUnit(kind, floorTo(kind, t));
}

/** Whole seconds from `t` until the window resets, never less than 1 (a Retry-After of 0 invites a tight loop). */
export function secondsUntilReset(kind: WindowKind, t: number): number {
  return Math.max(1, Math.ceil((windowEnd(kind, t) - t) / 1000));
}

/** Length of the window containing `t`, in seconds (months vary: 28 to 31 days). */
export function windowSeconds(kind: WindowKind, t: number): number {
  return (windowEnd(kind, t) - windowStart(kind, t)) / 1000;
}
