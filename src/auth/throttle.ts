import { isIPv6 } from 'node:net';
import type { Clock } from '../clock.js';

export interface AuthThrottle {
  /** Seconds until `address` may present a key again; 0 when it may now. */
  retryAfter(address: string): number;
  /** Counts one failed key check; true when this failure used up the address's allowance. */
  fail(address: string): boolean;
}

interface AuthThrottleOptions {
  /** Failures allowed per window; 0 turns throttling off. */
  limit: number;
  windowMs: number;
  clock: Clock;
  /** Bounds memory under a flood from many addresses; the oldest entries go first. */
  maxAddresses?: number;
}

interface Window {
  start: number;
  failures: number;
}

/**
 * Failed-authentication throttling per source address, so gateway keys cannot be brute-forced.
 * Once an address is over its allowance every key it presents is refused until the window ends —
 * valid ones too, or the 429/200 difference would itself answer the guess. IPv6 clients are
 * grouped by /64, the block one host can rotate through.
 */
export function createAuthThrottle({ limit, windowMs, clock, maxAddresses = 100_000 }: AuthThrottleOptions): AuthThrottle {
  const windows = new Map<string, Window>();

  const current = (id: string, now: number): Window | undefined => {
    const w = windows.get(id);
    if (w && now - w.start >= windowMs) {
      windows.delete(id);
      return undefined;
    }
    return w;
  };

  const makeRoom = (now: number): void => {
    for (const [id, w] of windows) if (now - w.start >= windowMs) windows.delete(id);
    while (windows.size >= maxAddresses) windows.delete(windows.keys().next().value!);
  };

  return {
    retryAfter(address) {
      // Nobody has failed lately (the usual case): no address to normalise (an IPv6 test per request).
      if (limit === 0 || windows.size === 0) return 0;
      const now = clock.now();
      const w = current(sourceId(address), now);
      return w && w.failures >= limit ? Math.max(1, Math.ceil((w.start + windowMs - now) / 1000)) : 0;
    },
    fail(address) {
      if (limit === 0) return false;
      const now = clock.now();
      const id = sourceId(address);
      let w = current(id, now);
      if (!w) {
        if (windows.size >= maxAddresses) makeRoom(now);
        w = { start: now, failures: 0 };
        windows.set(id, w);
      }
      w.failures++;
      return w.failures === limit;
    },
  };
}

/** IPv4 (also when IPv4-mapped) as is; IPv6 reduced to its /64 prefix. */
export function sourceId(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!isIPv6(address)) return address;
  const [head = '', tail = ''] = address.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}
