/** Injected so tests can move time (key expiry, rotation overlap, quota windows). */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
