/** In-flight accounting for graceful shutdown: draining refuses new work, idle() waits out the rest. */
export interface Lifecycle {
  readonly draining: boolean;
  readonly inflight: number;
  /**
   * Counts a request or session in, unless draining has begun: then it returns false and counts
   * nothing, and the caller refuses. Admission awaits (key lookup, token use) can straddle the start
   * of a drain, and shutdown may already have seen nothing in flight and be closing the listener.
   */
  enter(): boolean;
  leave(): void;
  drain(): void;
  /** Resolves when nothing is in flight (immediately if nothing is). */
  idle(): Promise<void>;
}

export function createLifecycle(): Lifecycle {
  let inflight = 0;
  let draining = false;
  let waiters: Array<() => void> = [];
  return {
    get draining() {
      return draining;
    },
    get inflight() {
      return inflight;
    },
    enter() {
      if (draining) return false;
      inflight++;
      return true;
    },
    leave() {
      inflight--;
      if (inflight === 0 && waiters.length) {
        const w = waiters;
        waiters = [];
        for (const fn of w) fn();
      }
    },
    drain() {
      draining = true;
    },
    idle() {
      return inflight === 0 ? Promise.resolve() : new Promise((r) => waiters.push(r));
    },
  };
}
