import { describe, expect, it } from 'vitest';
import { compileScopes, endpointFamily, globToRegExp, scopeViolation } from '../../src/scopes/scopes.js';
import { classify } from '../../src/exchange/classify.js';

describe('scope matching', () => {
  it('globs match whole model names; * is any run, ? one character, dots are literal', () => {
    const re = globToRegExp('gemini-2.5-*');
    expect(['gemini-2.5-flash', 'gemini-2.5-pro', 'gemini-2.5-'].every((m) => re.test(m))).toBe(true);
    expect(['gemini-2.0-flash', 'xgemini-2.5-flash', 'gemini-205-flash'].some((m) => re.test(m))).toBe(false);
    expect(globToRegExp('gemini-?.5-pro').test('gemini-2.5-pro')).toBe(true);
    expect(globToRegExp('a(b)+').test('a(b)+')).toBe(true);
  });

  it('maps every classified endpoint to its family', () => {
    const cases: Array<[string, string, string | null]> = [
      ['POST', '/v1beta/models/m:generateContent', 'generate'],
      ['POST', '/v1beta/models/m:streamGenerateContent', 'stream'],
      ['POST', '/v1beta/interactions', 'interactions'],
      ['GET', '/v1beta/interactions/abc', 'interactions'],
      ['DELETE', '/v1beta/interactions/abc', 'interactions'],
      ['POST', '/v1beta/interactions/abc/cancel', 'interactions'],
      ['POST', '/v1beta/models/m:embedContent', 'embed'],
      ['POST', '/v1beta/models/m:batchEmbedContents', 'embed'],
      ['POST', '/v1beta/models/m:countTokens', 'count'],
      ['GET', '/v1beta/models', 'models'],
      ['GET', '/v1beta/models/m', 'models'],
      ['GET', '/v1beta/files/f', 'files'],
      ['POST', '/upload/v1beta/files', 'files'],
      ['GET', '/v1beta/cachedContents', 'caches'],
      ['POST', '/v1beta/models/m:batchGenerateContent', 'batches'],
      ['GET', '/v1beta/batches/b', 'batches'],
      ['POST', '/v1beta/models/m:predict', null],
    ];
    for (const [method, path, family] of cases) expect([path, endpointFamily(classify(method, path)!.endpoint)]).toEqual([path, family]);
  });

  it('checks source networks first, IPv4-mapped IPv6 peers against IPv4 networks', () => {
    const c = compileScopes({ cidrs: ['192.168.0.0/16', '2001:db8::/32'], endpoints: ['generate'] });
    const req = (address: string | undefined) => scopeViolation(c, { endpoint: 'generateContent', model: 'm', address });
    expect(req('192.168.4.2')).toBeNull();
    expect(req('::ffff:192.168.4.2')).toBeNull();
    expect(req('2001:db8::1')).toBeNull();
    expect(req('10.1.1.1')).toMatch(/from 10\.1\.1\.1/);
    expect(req(undefined)).toMatch(/unknown address/);
    expect(scopeViolation(c, { endpoint: 'countTokens', model: 'm', address: '10.1.1.1' })).toMatch(/from 10\.1\.1\.1/);
  });

  it('treats `models/x` in a scope like `x`, and an empty list as nothing allowed', () => {
    expect(scopeViolation(compileScopes({ models: ['models/gemini-2.5-flash'] }), { endpoint: 'generateContent', model: 'gemini-2.5-flash', address: '::1' })).toBeNull();
    expect(scopeViolation(compileScopes({ models: [] }), { endpoint: 'generateContent', model: 'x', address: '::1' })).toMatch(/may not call model "x"/);
    expect(scopeViolation(compileScopes({ endpoints: [] }), { endpoint: 'models', model: null, address: '::1' })).toMatch(/"models"/);
    // Endpoints without a model (file listing) are not model-scoped.
    expect(scopeViolation(compileScopes({ models: ['x'] }), { endpoint: 'files', model: null, address: '::1' })).toBeNull();
  });
});
