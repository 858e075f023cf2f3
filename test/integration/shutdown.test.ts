import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { framedGenerate } from '../support/fixtures.js';
import { startHarness, type Harness } from '../support/harness.js';

describe('graceful shutdown', () => {
  let h: Harness;
  afterEach(async () => h.close());

  it('lets an in-flight stream finish, refuses new requests with 503, and flushes every row', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    h = await startHarness({ env: { USAGE_FLUSH_INTERVAL_MS: '60000' }, fake: { beforeFrame: (i) => (i === 1 ? held : undefined) } });
    const { key } = await h.createKey();
    const headers = { 'x-goog-api-key': key };
    const done = await request(`${h.url}/v1beta/models/google-text:generateContent`, { method: 'POST', headers, body: '{}' });
    await done.body.arrayBuffer();
    const streaming = await request(`${h.url}/v1beta/models/google-text:streamGenerateContent?alt=sse`, { method: 'POST', headers, body: '{}' });
    const bytes = (async () => Buffer.from(await streaming.body.arrayBuffer()))();
    const stopped = h.gateway.shutdown(10_000);
    await new Promise((r) => setTimeout(r, 20));
    const refused = await request(`${h.url}/v1beta/models`, { headers }).catch((e: Error) => e);
    if (!(refused instanceof Error)) {
      expect(refused.statusCode).toBe(503);
      await refused.body.arrayBuffer();
    }
    release();
    expect((await bytes).equals(framedGenerate('google-text', '\r\n'))).toBe(true);
    await stopped;
    const rows = await h.query('SELECT endpoint, outcome FROM usage_events ORDER BY id');
    expect(rows).toEqual([
      { endpoint: 'generateContent', outcome: 'ok' },
      { endpoint: 'streamGenerateContent', outcome: 'ok' },
    ]);
  });
});
