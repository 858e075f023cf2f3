import { describe, expect, it } from 'vitest';
import { displayPrefix, generateKey, hashKey, looksLikeKey } from '../../src/auth/keys.js';

describe('tenant keys', () => {
  it('are random, prefixed for secret scanners, and stored only as a hash plus a short display prefix', () => {
    const a = generateKey();
    const b = generateKey();
    expect(a.secret).not.toBe(b.secret);
    expect(a.secret).toMatch(/^ggw_[A-Za-z0-9_-]{43}$/);
    expect(looksLikeKey(a.secret)).toBe(true);
    expect(a.hash).toBe(hashKey(a.secret));
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(a.prefix).toBe(displayPrefix(a.secret));
    expect(a.secret.startsWith(a.prefix)).toBe(true);
    expect(a.prefix.length).toBeLessThan(16);
  });
});
