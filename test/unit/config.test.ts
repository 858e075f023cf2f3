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
});
