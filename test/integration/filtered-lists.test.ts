// Filtered lists (GET files|cachedContents|batches) are answered by the ownership stage, which reads
// upstream pages whole. They go through the data plane's one upstream reader: the same pool and
// timeouts as forwarding, the same header rules (identity encoding asked for), the key scrubbed.
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, UPSTREAM_KEY, type Harness } from '../support/harness.js';
import { rawRequest } from '../support/raw-http.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('filtered lists', () => {
  it('never hand the client a credential upstream echoes in a list error', async () => {
    h = await startHarness({
      fake: {
        intercept: ({ url, req, res }) => {
          if (url.pathname !== '/v1beta/files') return false;
          const got = String(req.headers['x-goog-api-key']);
          const body = JSON.stringify({ error: { code: 400, message: `API key ${got} not valid for https://generativelanguage.googleapis.com/v1beta/files?key=${got}`, status: 'INVALID_ARGUMENT' } });
          res.writeHead(400, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'x-debug-url': `https://upstream.example/v1beta/files?key=${got}` });
          res.end(body);
          return true;
        },
      },
    });
    const { key } = await h.createKey('acme', 'web');
    const res = await rawRequest(`${h.url}/v1beta/files?pageSize=5`, { method: 'GET', headers: { 'x-goog-api-key': key } });
    const text = res.body.toString();
    expect(res.status).toBe(400);
    expect(text).not.toContain(UPSTREAM_KEY);
    expect(text).toContain('API key [redacted] not valid');
    expect(text).toContain('?key=[redacted]');
    expect(JSON.stringify(res.headers)).not.toContain(UPSTREAM_KEY);
    expect(Number(res.headers['content-length'])).toBe(res.body.length);
    // It did reach upstream with the real key (so the scrub, not a refusal, is what kept it out).
    expect(h.fake.requests.some((r) => r.url.startsWith('/v1beta/files') && r.headers['x-goog-api-key'] === UPSTREAM_KEY)).toBe(true);
    const [row] = await h.waitForRows(1);
    expect(row).toMatchObject({ endpoint: 'files', status: 400, outcome: 'upstream_error' });
  });

  it('ask upstream for identity encoding and pass the client headers through like forwarding does', async () => {
    h = await startHarness({ fake: { gzipUnary: true } });
    const { key } = await h.createKey('acme', 'web');
    const sdk = h.sdk(key);
    await sdk.files.upload({ file: new Blob(['mine']), config: { mimeType: 'text/plain' } });
    const res = await rawRequest(`${h.url}/v1beta/files`, { method: 'GET', headers: { 'x-goog-api-key': key, 'accept-encoding': 'gzip', 'x-trace': 'abc' } });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString()).files).toHaveLength(1);
    const listed = h.fake.requests.filter((r) => r.method === 'GET' && r.url.startsWith('/v1beta/files'));
    expect(listed.length).toBeGreaterThan(0);
    for (const r of listed) {
      expect(r.headers['accept-encoding']).toBe('identity');
      expect(r.headers['x-trace']).toBe('abc');
      expect(r.headers['x-goog-api-key']).toBe(UPSTREAM_KEY);
    }
  });

  it('answer 504 in Google shape when the listing upstream never answers, and record upstream_timeout', async () => {
    h = await startHarness({
      env: { UPSTREAM_HEADERS_TIMEOUT_MS: '300' },
      fake: { intercept: ({ url }) => url.pathname === '/v1beta/cachedContents' },
    });
    const { key } = await h.createKey('acme', 'web');
    const res = await rawRequest(`${h.url}/v1beta/cachedContents`, { method: 'GET', headers: { 'x-goog-api-key': key } });
    expect(res.status).toBe(504);
    expect(JSON.parse(res.body.toString())).toEqual({ error: { code: 504, message: 'Upstream did not answer in time.', status: 'DEADLINE_EXCEEDED' } });
    const [row] = await h.waitForRows(1);
    expect(row).toMatchObject({ endpoint: 'cachedContents', status: 504, outcome: 'upstream_timeout' });
  });

  it('answer 502 when the listing connection is reset, and record upstream_aborted', async () => {
    h = await startHarness({
      fake: { intercept: ({ url, req }) => (url.pathname === '/v1beta/batches' ? (req.socket.destroy(), true) : false) },
    });
    const { key } = await h.createKey('acme', 'web');
    const res = await rawRequest(`${h.url}/v1beta/batches`, { method: 'GET', headers: { 'x-goog-api-key': key } });
    expect(res.status).toBe(502);
    expect(JSON.parse(res.body.toString()).error.status).toBe('UNAVAILABLE');
    const [row] = await h.waitForRows(1);
    expect(row).toMatchObject({ status: 502, outcome: 'upstream_aborted' });
  });
});
