import { describe, expect, it } from 'vitest';
import { createAuthThrottle, sourceId } from '../../src/auth/throttle.js';

function clock() {
  let t = 1_000_000;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

describe('auth throttle', () => {
  it('groups IPv6 clients by /64 and unwraps IPv4-mapped addresses', () => {
    expect(sourceId('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(sourceId('10.1.2.3')).toBe('10.1.2.3');
    expect(sourceId('2001:db8:0:1::1')).toBe('2001:db8:0:1::/64');
    expect(sourceId('2001:0db8:0000:0001:ffff:eeee:dddd:cccc')).toBe('2001:db8:0:1::/64');
    expect(sourceId('::1')).toBe('0:0:0:0::/64');
  });

  it('blocks after `limit` failures until the window ends, counting a /64 as one source', () => {
    const c = clock();
    const t = createAuthThrottle({ limit: 3, windowMs: 60_000, clock: c });
    expect([t.fail('2001:db8::1'), t.fail('2001:db8::2'), t.fail('2001:db8::3')]).toEqual([false, false, true]);
    expect(t.retryAfter('2001:db8::99')).toBe(60);
    expect(t.retryAfter('2001:db9::1')).toBe(0);
    c.advance(59_500);
    expect(t.retryAfter('2001:db8::1')).toBe(1);
    c.advance(500);
    expect(t.retryAfter('2001:db8::1')).toBe(0);
  });

  it('stays within maxAddresses under a flood of sources', () => {
    const c = clock();
    const t = createAuthThrottle({ limit: 1, windowMs: 60_000, clock: c, maxAddresses: 100 });
    for (let i = 0; i < 1000; i++) t.fail(`10.0.${i >> 8}.${i & 255}`);
    // The newest are still tracked; the oldest were evicted to make room.
    expect(t.retryAfter('10.0.3.231')).toBeGreaterThan(0);
    expect(t.retryAfter('10.0.0.0')).toBe(0);
  });

  it('limit 0 turns it off', () => {
    const t = createAuthThrottle({ limit: 0, windowMs: 60_000, clock: clock() });
    for (let i = 0; i < 50; i++) t.fail('1.2.3.4');
    expect(t.retryAfter('1.2.3.4')).toBe(0);
  });
});
