import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config.js';

describe('parseConfig', () => {
  it('works with zero configuration', () => {
    const c = parseConfig({});
    expect(c).toMatchObject({ PORT: 8787, HOST: '127.0.0.1', DATABASE_PATH: './data/gateway.db', UPSTREAM_BASE_URL: 'https://generativelanguage.googleapis.com', LOG_LEVEL: 'info', PUBLIC_BASE_URL: 'http://127.0.0.1:8787', SHUTDOWN_GRACE_MS: 30000 });
    expect(c.GEMINI_API_KEY).toBeUndefined();
  });

  it('names every bad variable at once', () => {
    try {
      parseConfig({ PORT: 'eighty', UPSTREAM_BASE_URL: 'not a url', LOG_LEVEL: 'loud' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const problems = (err as ConfigError).problems.join('\n');
      for (const name of ['PORT', 'UPSTREAM_BASE_URL', 'LOG_LEVEL']) expect(problems).toContain(name);
    }
  });

  it('builds the default PUBLIC_BASE_URL from any listen address: an IPv6 one is bracketed, an unusable one is a named problem', () => {
    expect(parseConfig({ HOST: '::', PORT: '9000' })).toMatchObject({ PUBLIC_BASE_URL: 'http://[::]:9000', PUBLIC_PATH_PREFIX: '' });
    expect(parseConfig({ HOST: '::1' }).PUBLIC_BASE_URL).toBe('http://[::1]:8787');
    expect(parseConfig({ HOST: 'gw.internal' }).PUBLIC_BASE_URL).toBe('http://gw.internal:8787');
    expect(() => parseConfig({ HOST: 'not a host' })).toThrow(ConfigError);
    expect(() => parseConfig({ HOST: 'not a host' })).toThrow(/HOST.*PUBLIC_BASE_URL/);
  });

  it('treats empty strings as unset', () => {
    expect(parseConfig({ GEMINI_API_KEY: '', PORT: '' }).PORT).toBe(8787);
  });

  it('treats blank strings as unset too, instead of coercing them to 0 (a random port, no shutdown grace)', () => {
    const c = parseConfig({ PORT: ' ', SHUTDOWN_GRACE_MS: '\t', GEMINI_API_KEY: '  ', USAGE_FLUSH_INTERVAL_MS: ' \n' });
    expect(c).toMatchObject({ PORT: 8787, SHUTDOWN_GRACE_MS: 30000, USAGE_FLUSH_INTERVAL_MS: 50 });
    expect(c.GEMINI_API_KEY).toBeUndefined();
  });

  it('refuses a REDIS_URL the Redis client cannot parse, naming the variable and never the password', () => {
    for (const url of ['redis://:redis-pw-9f3e@127.0.0.1:6379:abc', 'redis://:redis-pw%ZZ9f3e@127.0.0.1:6379', 'redis://:redis-pw-9f3e@[::1/0']) {
      let problems = '';
      try {
        parseConfig({ REDIS_URL: url });
      } catch (err) {
        problems = (err as ConfigError).problems.join('\n');
      }
      expect(problems).toMatch(/^REDIS_URL: /);
      expect(problems).not.toContain('redis-pw');
    }
    expect(parseConfig({ REDIS_URL: 'redis://:p%40ss@127.0.0.1:6379/2' }).REDIS_URL).toBe('redis://:p%40ss@127.0.0.1:6379/2');
  });
});
