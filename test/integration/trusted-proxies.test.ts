// X-Forwarded-For gives the client address only when the peer is a trusted proxy (TRUSTED_PROXIES):
// for key CIDR scopes and for the failed-auth throttle. Raw HTTP, so the header is exactly what is sent.
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { startHarness, type Harness } from '../support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function call(key: string, xff?: string) {
  const headers: Record<string, string> = { 'x-goog-api-key': key, 'content-type': 'application/json' };
  if (xff !== undefined) headers['x-forwarded-for'] = xff;
  return fetch(`${h!.url}/v1beta/models/google-text:generateContent`, { method: 'POST', headers, body: '{}' });
}

async function scopedKey(cidrs: string[]) {
  const key = h!.createKey('acme', 'web');
  const res = await h!.admin('PATCH', `/admin/v1/keys/${key.id}`, { scopes: { cidrs } });
  expect(res.status).toBe(200);
  return key.key;
}

describe('TRUSTED_PROXIES', () => {
  it('from a trusted peer, the rightmost untrusted X-Forwarded-For address is the client for CIDR scopes', async () => {
    h = await startHarness({ env: { ADMIN_TOKEN: 'admin-token-for-tests-0123456789', TRUSTED_PROXIES: '127.0.0.1/32,10.0.0.0/8' } });
    const key = await scopedKey(['203.0.113.0/24']);
    expect((await call(key, '203.0.113.7')).status).toBe(200);
    // A client-written entry on the left proves nothing; the proxies' own hops on the right are skipped.
    expect((await call(key, '198.51.100.1, 203.0.113.7, 10.1.2.3')).status).toBe(200);
    expect((await call(key, '203.0.113.7, 198.51.100.1')).status).toBe(403);
    // No header: the peer (the proxy itself) is the client.
    expect((await call(key)).status).toBe(403);
  });

  it('from any other peer, X-Forwarded-For is ignored', async () => {
    h = await startHarness({ env: { ADMIN_TOKEN: 'admin-token-for-tests-0123456789', TRUSTED_PROXIES: '10.0.0.0/8' } });
    const key = await scopedKey(['203.0.113.0/24']);
    expect((await call(key, '203.0.113.7')).status).toBe(403);
    const open = await scopedKey(['127.0.0.0/8']);
    expect((await call(open, '203.0.113.7')).status).toBe(200);
  });

  it('the auth throttle counts per forwarded client, so one client behind the proxy cannot lock out the rest', async () => {
    h = await startHarness({ env: { ADMIN_TOKEN: 'admin-token-for-tests-0123456789', TRUSTED_PROXIES: '127.0.0.1', AUTH_FAILURE_LIMIT: '3' } });
    const good = h.createKey('acme', 'web').key;
    const bad = 'ggw_' + 'y'.repeat(43);
    for (let i = 0; i < 3; i++) expect((await call(bad, '198.51.100.9')).status).toBe(401);
    expect((await call(good, '198.51.100.9')).status).toBe(429);
    expect((await call(good, '198.51.100.10')).status).toBe(200);
  });

  it('without TRUSTED_PROXIES a forged X-Forwarded-For changes nothing for the throttle', async () => {
    h = await startHarness({ env: { AUTH_FAILURE_LIMIT: '2' } });
    const good = h.createKey('acme', 'web').key;
    const bad = 'ggw_' + 'z'.repeat(43);
    expect((await call(bad, '198.51.100.1')).status).toBe(401);
    expect((await call(bad, '198.51.100.2')).status).toBe(401);
    expect((await call(good, '198.51.100.3')).status).toBe(429);
  });

  it('refuses entries that are not CIDRs at start', () => {
    expect(() => parseConfig({ TRUSTED_PROXIES: '10.0.0.0/8,not-an-ip' })).toThrow(/TRUSTED_PROXIES/);
    expect(() => parseConfig({ TRUSTED_PROXIES: '10.0.0.0/33' })).toThrow(/TRUSTED_PROXIES/);
    expect(parseConfig({ TRUSTED_PROXIES: ' 10.0.0.0/8 , ::1 ' }).TRUSTED_PROXIES).toEqual(['10.0.0.0/8', '::1']);
  });
});
