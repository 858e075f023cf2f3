import { createPartFromUri, type GoogleGenAI } from '@google/genai';
import { afterEach, describe, expect, it } from 'vitest';
import { envKeyId } from '../../src/upstream/key-pool.js';
import { startHarness, UPSTREAM_KEY, UPSTREAM_KEY_2, type Harness } from '../support/harness.js';
import { statusOf } from '../support/sdk-status.js';

const K1 = envKeyId(UPSTREAM_KEY);
const K2 = envKeyId(UPSTREAM_KEY_2);
const keyOf = (r: { headers: Record<string, unknown> }) => envKeyId(String(r.headers['x-goog-api-key']));

describe('resources pinned to the upstream key that created them', () => {
  let h: Harness;
  let refuse: Set<string>;
  afterEach(async () => h?.close());

  const start = async () => {
    refuse = new Set();
    h = await startHarness({ extraUpstreamKeys: [UPSTREAM_KEY_2], fake: { refuseKey: (k) => (refuse.has(k) ? 'rate-limited' : null) } });
    return [h.sdk((await h.createKey('acme', 'alpha')).key), h.sdk((await h.createKey('acme', 'beta')).key)] as const;
  };
  const useFile = (ai: GoogleGenAI, uri: string) =>
    ai.models.generateContent({ model: 'gemini-2.5-flash', contents: [{ role: 'user', parts: [createPartFromUri(uri, 'text/plain'), { text: 'read it' }] }] });

  it('every request touching a file made on key 1 goes to key 1, however the pool rotates', async () => {
    const [a] = await start();
    const file = await a.files.upload({ file: new Blob(['pinned']), config: { mimeType: 'text/plain' } });
    const uploadKeys = h.fake.requests.filter((r) => r.url.includes('/upload/')).map(keyOf);
    expect(uploadKeys).toEqual([K1, K1]); // start and the single chunk
    for (let i = 0; i < 3; i++) {
      expect(await statusOf(useFile(a, file.uri!))).toBe(200); // the fake 403s a file from another key's project
      expect(await statusOf(a.files.get({ name: file.name! }))).toBe(200);
      await a.models.generateContent({ model: 'gemini-2.5-flash', contents: 'unpinned' });
    }
    const pinned = h.fake.requests.filter((r) => r.url.includes(file.name!) || r.body.includes(file.name!)).map(keyOf);
    expect(new Set(pinned)).toEqual(new Set([K1]));
    expect(h.fake.requests.filter((r) => r.url.includes(':generateContent')).map(keyOf)).toContain(K2);
  });

  it('a pinned request is not retried elsewhere when its key is rate-limited', async () => {
    const [a] = await start();
    const file = await a.files.upload({ file: new Blob(['pinned']), config: { mimeType: 'text/plain' } });
    refuse.add(UPSTREAM_KEY);
    const before = h.fake.requests.length;
    expect(await statusOf(useFile(a, file.uri!))).toBe(429);
    expect(h.fake.requests.slice(before).map(keyOf)).toEqual([K1]);
  });

  it('a resource created after a failover is pinned to the key that actually created it', async () => {
    const [a] = await start();
    refuse.add(UPSTREAM_KEY);
    const file = await a.files.upload({ file: new Blob(['made on key 2']), config: { mimeType: 'text/plain' } });
    refuse.clear();
    const before = h.fake.requests.length;
    for (let i = 0; i < 3; i++) expect(await statusOf(a.files.get({ name: file.name! }))).toBe(200);
    expect(h.fake.requests.slice(before).map(keyOf)).toEqual([K2, K2, K2]);
  });

  it('lists walk every key\'s project and show only the caller\'s resources, one page at a time', async () => {
    const [a, b] = await start();
    const mine = [];
    for (let i = 0; i < 4; i++) mine.push((await a.files.upload({ file: new Blob([`a${i}`]), config: { mimeType: 'text/plain' } })).name);
    await b.files.upload({ file: new Blob(['b']), config: { mimeType: 'text/plain' } });
    const owners = h.fake.requests.filter((r) => r.url.includes('upload_id=')).map(keyOf);
    expect(new Set(owners)).toEqual(new Set([K1, K2])); // A's files live in both Google projects

    const listed = [];
    for await (const f of await a.files.list({ config: { pageSize: 1 } })) listed.push(f.name);
    expect(listed.sort()).toEqual([...mine].sort());
    const pager = await b.files.list();
    expect(pager.page.map((f) => f.name)).toHaveLength(1);
    expect(pager.hasNextPage()).toBe(false);
  });
});
