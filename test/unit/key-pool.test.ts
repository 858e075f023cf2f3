import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { keyFailure } from '../../src/upstream/key-failure.js';
import { createEnvKeyPool, envKeyId, envKeySecrets } from '../../src/upstream/key-pool.js';
import { loadErrorText } from '../support/fixtures.js';

const body = (o: unknown) => Buffer.from(JSON.stringify(o));

describe('keyFailure', () => {
  it("cools a 429 down for RetryInfo's delay", () => {
    expect(keyFailure(429, {}, Buffer.from(loadErrorText('google-429-retry-info')))).toEqual({ kind: 'cooldown', delayMs: 34_400 });
  });
  it('falls back to Retry-After, then to no delay (the pool default)', () => {
    expect(keyFailure(429, { 'retry-after': '7' }, body({ error: { code: 'resource_exhausted' } }))).toEqual({ kind: 'cooldown', delayMs: 7000 });
    expect(keyFailure(429, {}, Buffer.from('not json'))).toEqual({ kind: 'cooldown', delayMs: null });
  });
  it('treats a 403 about quota as a cooldown, but not a 403 about a file', () => {
    expect(keyFailure(403, {}, body({ error: { code: 403, status: 'RESOURCE_EXHAUSTED', message: 'quota' } }))).toEqual({ kind: 'cooldown', delayMs: null });
    expect(keyFailure(403, {}, body({ error: { code: 403, status: 'PERMISSION_DENIED', message: 'You do not have permission to access the File x' } }))).toBeNull();
  });
  it('disables a key upstream calls invalid', () => {
    const invalid = { error: { code: 400, status: 'INVALID_ARGUMENT', details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID' }] } };
    expect(keyFailure(400, {}, body(invalid))).toEqual({ kind: 'invalid', reason: 'API_KEY_INVALID' });
    expect(keyFailure(400, {}, body({ error: { code: 400, status: 'INVALID_ARGUMENT', message: 'bad request' } }))).toBeNull();
    expect(keyFailure(500, {}, body(invalid))).toBeNull();
  });
});

describe('the env key pool', () => {
  const log = createLogger('silent');
  const setup = () => {
    let now = 1000;
    const pool = createEnvKeyPool(['k1', 'k2', 'k3'], { clock: { now: () => now }, log, defaultCooldownMs: 60_000 });
    return { pool, advance: (ms: number) => (now += ms), ids: ['k1', 'k2', 'k3'].map(envKeyId) };
  };

  it('derives stable ids that never contain the key', () => {
    expect(envKeyId('AIzaSECRET')).toMatch(/^env:[0-9a-f]{12}$/);
    expect(envKeyId('AIzaSECRET')).toBe(envKeyId('AIzaSECRET'));
    expect(envKeyId('AIzaSECRET')).not.toContain('SECRET');
    expect(envKeySecrets({ GEMINI_API_KEY: 'a', GEMINI_API_KEYS: ' b, a ,,c ' })).toEqual(['a', 'b', 'c']);
  });

  it('round-robins, skips cooling keys until their delay passed, and never hands out a disabled key', () => {
    const { pool, advance, ids } = setup();
    expect([1, 2, 3, 4].map(() => pool.pick()!.id)).toEqual([ids[0], ids[1], ids[2], ids[0]]);
    pool.report(ids[1]!, { kind: 'cooldown', delayMs: 5000 });
    pool.report(ids[2]!, { kind: 'invalid', reason: 'API_KEY_INVALID' });
    expect([1, 2, 3].map(() => pool.pick()!.id)).toEqual([ids[0], ids[0], ids[0]]);
    advance(5001);
    expect(new Set([1, 2, 3, 4].map(() => pool.pick()!.id))).toEqual(new Set([ids[0], ids[1]]));
    expect(pool.get(ids[2]!)).toBeNull();
    expect(pool.health().map((k) => k.state)).toEqual(['healthy', 'healthy', 'disabled']);
  });

  it('when every key cools down, hands out the one free soonest (upstream answers for itself); excluded keys are skipped', () => {
    const { pool, ids } = setup();
    pool.report(ids[0]!, { kind: 'cooldown', delayMs: 3000 });
    pool.report(ids[1]!, { kind: 'cooldown', delayMs: 1000 });
    pool.report(ids[2]!, { kind: 'cooldown', delayMs: null });
    expect(pool.pick()!.id).toBe(ids[1]);
    expect(pool.pick(new Set([ids[1]!]))!.id).toBe(ids[0]);
    expect(pool.health()[2]!.coolingUntil).toBe(1000 + 60_000);
  });
});
