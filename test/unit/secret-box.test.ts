import { describe, expect, it } from 'vitest';
import { createSecretBox, fingerprint } from '../../src/crypto/secret-box.js';

const MASTER = 'a-master-secret-that-is-long-enough-0123456789';

describe('secret box (AES-256-GCM under GATEWAY_SECRET)', () => {
  it('round-trips, with a fresh IV each time and no plaintext in the sealed form', () => {
    const box = createSecretBox(MASTER);
    const a = box.seal('AIzaSecretValue', 'upk_1');
    const b = box.seal('AIzaSecretValue', 'upk_1');
    expect(a).not.toBe(b);
    expect(a).not.toContain('AIzaSecretValue');
    expect(box.open(a, 'upk_1')).toBe('AIzaSecretValue');
  });

  it('refuses a tampered ciphertext, another row id, or another master secret', () => {
    const box = createSecretBox(MASTER);
    const sealed = box.seal('AIzaSecretValue', 'upk_1');
    const [v, iv, ct, tag] = sealed.split('.');
    const flipped = Buffer.from(ct!, 'base64url');
    flipped[0]! ^= 1;
    expect(() => box.open([v, iv, flipped.toString('base64url'), tag].join('.'), 'upk_1')).toThrow();
    expect(() => box.open(sealed, 'upk_2')).toThrow();
    expect(() => createSecretBox(`${MASTER}x`).open(sealed, 'upk_1')).toThrow();
    expect(() => box.open('', 'upk_1')).toThrow();
  });

  it('fingerprints with the last 4 characters and a short SHA-256', () => {
    expect(fingerprint('AIzaSecretValue')).toEqual({ last4: 'alue', sha256: expect.stringMatching(/^[0-9a-f]{16}$/) });
    expect(fingerprint('x1').sha256).not.toBe(fingerprint('x2').sha256);
  });
});
