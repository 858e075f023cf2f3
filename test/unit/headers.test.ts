import { describe, expect, it } from 'vitest';
import { extractTenantKey, splitKeyParam } from '../../src/auth/tenant-key.js';
import { clientResponseHeaders, upstreamRequestHeaders, withoutZstd } from '../../src/proxy/headers.js';
import { GatewayError } from '../../src/errors.js';

describe('tenant key extraction', () => {
  it('finds the key in each of the three places and strips it from the query', () => {
    expect(extractTenantKey(['x-goog-api-key', 'k1'], '')).toEqual({ key: 'k1', search: '' });
    expect(extractTenantKey(['Authorization', 'Bearer k2'], '?alt=sse')).toEqual({ key: 'k2', search: '?alt=sse' });
    expect(extractTenantKey([], '?alt=sse&key=k3&x=%2F')).toEqual({ key: 'k3', search: '?alt=sse&x=%2F' });
  });

  it('accepts the same key sent twice but refuses different keys or a repeated header', () => {
    expect(extractTenantKey(['x-goog-api-key', 'k1'], '?key=k1').key).toBe('k1');
    expect(() => extractTenantKey(['x-goog-api-key', 'k1'], '?key=k2')).toThrow(GatewayError);
    expect(() => extractTenantKey(['x-goog-api-key', 'k1', 'X-Goog-Api-Key', 'k1'], '')).toThrow(GatewayError);
  });

  it('removes every encoding of the key parameter and leaves other bytes alone', () => {
    expect(splitKeyParam('?%6Bey=a&key=b&keys=c&a=%20+')).toEqual({ key: ['a', 'b'], rest: '?keys=c&a=%20+' });
  });
});

describe('header forwarding', () => {
  it('drops hop-by-hop headers and key carriers, keeps the rest in order including empty values, adds the upstream key', () => {
    const raw = ['Host', 'gw', 'Connection', 'keep-alive, X-Drop', 'X-Drop', '1', 'x-goog-api-key', 'tenant', 'Authorization', 'Bearer t', 'Api-Revision', '2026-05-20', 'Cookie', '', 'Content-Length', '12', 'TE', 'trailers'];
    expect(upstreamRequestHeaders(raw, 'UP', false)).toEqual(['Api-Revision', '2026-05-20', 'Cookie', '', 'Content-Length', '12', 'x-goog-api-key', 'UP']);
    expect(upstreamRequestHeaders(raw, 'UP', true)).not.toContain('Content-Length');
  });

  it("passes a client's trace context through untouched unless the gateway sends its own in its place", () => {
    const raw = ['Traceparent', '00-aaaa-bbbb-01', 'tracestate', 'k=v', 'X-Other', '1'];
    expect(upstreamRequestHeaders(raw, 'UP', false)).toEqual(['Traceparent', '00-aaaa-bbbb-01', 'tracestate', 'k=v', 'X-Other', '1', 'x-goog-api-key', 'UP']);
    expect(upstreamRequestHeaders(raw, 'UP', false, false, ['traceparent', '00-aaaa-cccc-01'])).toEqual(['tracestate', 'k=v', 'X-Other', '1', 'traceparent', '00-aaaa-cccc-01', 'x-goog-api-key', 'UP']);
  });

  it('never lets upstream answer in zstd, which the gateway cannot decode, and keeps every other coding and q-value', () => {
    expect(withoutZstd('zstd, gzip;q=0.8, deflate, br;q=0.5')).toBe('gzip;q=0.8, deflate, br;q=0.5');
    expect(withoutZstd('gzip,ZSTD;q=1.0')).toBe('gzip');
    expect(withoutZstd('zstd')).toBe('identity');
    expect(withoutZstd(' zstd ; q=1 , ')).toBe('identity');
    expect(withoutZstd('*')).toBe('*, zstd;q=0');
    expect(withoutZstd('br, *;q=0.1')).toBe('br, *;q=0.1, zstd;q=0');
    expect(upstreamRequestHeaders(['Accept-Encoding', 'zstd, br', 'X-A', '1'], 'UP', false)).toEqual(['Accept-Encoding', 'br', 'X-A', '1', 'x-goog-api-key', 'UP']);
    // A value without zstd or `*` goes on as the very same string.
    const plain = 'gzip, deflate';
    expect(upstreamRequestHeaders(['accept-encoding', plain], 'UP', false)[1]).toBe(plain);
    expect(upstreamRequestHeaders(['accept-encoding', 'zstd'], 'UP', false, true)).toEqual(['accept-encoding', 'identity', 'x-goog-api-key', 'UP']);
  });

  it('passes response headers minus hop-by-hop and origin-bound ones (alt-svc, set-cookie), content-encoding included', () => {
    expect(clientResponseHeaders({ 'content-type': 'application/json', 'content-encoding': 'gzip', 'transfer-encoding': 'chunked', connection: 'close', 'x-goog-upload-url': 'u', 'alt-svc': 'h3=":443"; ma=2592000', 'set-cookie': ['NID=511=abc; expires=Sat, 05-Jun-2027 10:00:00 GMT; path=/; domain=.google.com; HttpOnly'] })).toEqual({
      'content-type': 'application/json', 'content-encoding': 'gzip', 'x-goog-upload-url': 'u',
    });
  });
});
