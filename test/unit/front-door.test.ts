import { describe, expect, it } from 'vitest';
import { isDataPlane, refusalBeforeRouting } from '../../src/proxy/front-door.js';

describe('isDataPlane: what skips the router', () => {
  it.each([
    ['POST', '/v1beta/models/gemini-2.5-flash:generateContent', '127.0.0.1:8080', true],
    ['GET', '/v1/files', 'gateway.example.com', true],
    ['POST', '/upload/v1beta/files', 'gateway', true],
    ['GET', '/v1alpha/auth_tokens', 'gateway', true], // only POST is the token route
    ['POST', '/v1alpha/auth_tokens', 'gateway', false],
    ['POST', '/v1beta/models/m:generateContent', undefined, false], // no Host: Hono's check decides
    ['POST', '/v1beta/models/m:generateContent', 'Gateway.Example.com', false], // not the plain form
    ['POST', '/v1beta/models/m:generateContent', 'a/b', false],
    ['POST', '/v1beta/models/m:generateContent', 'host:80', false],
    ['POST', '/v1beta/files/abc%2Fdef', 'gateway', false], // percent-encoded: the router decodes first
    ['GET', '/v1/auth_toke%6es', 'gateway', false],
    ['GET', '/admin/v1/tenants', 'gateway', false],
    ['GET', '/gateway/v1/usage', 'gateway', false],
    ['GET', '/healthz', 'gateway', false],
    ['GET', '/metrics', 'gateway', false],
    ['GET', '/dashboard', 'gateway', false],
    ['GET', '/v1beta', 'gateway', false],
    ['GET', '/V1/models', 'gateway', false],
  ])('%s %s (host %s) → %s', (method, path, host, expected) => {
    expect(isDataPlane(method, path, host)).toBe(expected);
  });
});

describe('refusalBeforeRouting', () => {
  it('refuses hostile targets with 400 and, while draining, everything but health, admin and metrics with 503 + close', () => {
    const open = { draining: false };
    const draining = { draining: true };
    expect(refusalBeforeRouting(open, '/v1beta/models', '/v1beta/models')).toBeNull();
    expect(refusalBeforeRouting(open, '/v1beta/../admin/v1', '/v1beta/../admin/v1')?.error.status).toBe(400);
    const refused = refusalBeforeRouting(draining, '/v1beta/models', '/v1beta/models');
    expect([refused?.error.status, refused?.headers.connection]).toEqual([503, 'close']);
    expect(refusalBeforeRouting(draining, '/healthz', '/healthz')).toBeNull();
    expect(refusalBeforeRouting(draining, '/admin/v1/tenants', '/admin/v1/tenants')).toBeNull();
    // A scrape during the drain is how an operator watches in-flight requests fall to zero.
    expect(refusalBeforeRouting(draining, '/metrics', '/metrics')).toBeNull();
    expect(refusalBeforeRouting(draining, '/metricsx', '/metricsx')?.error.status).toBe(503);
  });
});
