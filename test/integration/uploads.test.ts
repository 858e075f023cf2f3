import { GoogleGenAI } from '@google/genai';
import { GoogleGenAI as GoogleGenAI145 } from 'genai145';
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';
import { statusOf } from '../support/sdk-status.js';

/** 8 MiB is the SDK's chunk size: this file goes up in three chunks. */
const CHUNK = 8 * 1024 * 1024;
const bytes = Buffer.alloc(2 * CHUNK + 1234, 7);

const SDKS = [
  ['@google/genai 2.32 (keeps the path, swaps the host)', GoogleGenAI],
  ['@google/genai 1.45 (follows the upload URL verbatim)', GoogleGenAI145],
] as const;

describe.each(['', '/gw'])('resumable uploads stay on the gateway (PUBLIC_BASE_URL path "%s")', (publicPath) => {
  let h: Harness;
  afterEach(async () => h?.close());

  it.each(SDKS)('%s uploads in several chunks through the gateway, bound to the project', async (_name, Sdk) => {
    h = await startHarness({ publicPath });
    const arrived: string[] = [];
    h.gateway.server.on('request', (req: { url?: string }) => arrived.push(req.url ?? ''));
    const a = await h.createKey('acme', 'alpha');
    const client = new Sdk({ apiKey: a.key, httpOptions: { baseUrl: h.publicUrl } }) as GoogleGenAI;
    const file = await client.files.upload({ file: new Blob([bytes]), config: { mimeType: 'application/octet-stream', displayName: 'big.bin' } });
    expect(file.sizeBytes).toBe(String(bytes.length));

    const uploads = (await h.rows()).filter((r) => r.endpoint === 'upload');
    expect(uploads.map((r) => r.bytes_in)).toEqual([expect.any(Number), CHUNK, CHUNK, 1234]);
    expect(uploads.every((r) => r.key_id === a.id && r.status === 200)).toBe(true);
    expect(h.fake.requests.filter((r) => r.url.includes('upload_id=')).map((r) => r.body.length)).toEqual([CHUNK, CHUNK, 1234]);
    // Every chunk came to the gateway under its public path (a prefix-routing proxy in front would drop anything else).
    const chunkPaths = arrived.filter((u) => u.includes('upload_id='));
    expect(chunkPaths).toHaveLength(3);
    expect(chunkPaths.every((u) => u.startsWith(`${publicPath}/upload/v1beta/files?upload_id=`))).toBe(true);
    expect(await statusOf(client.files.get({ name: file.name! }))).toBe(200);
  });

  it('rewrites both upload URL headers to PUBLIC_BASE_URL; another project\'s chunk is a 404 and never forwarded', async () => {
    h = await startHarness({ publicPath });
    const [a, b] = [(await h.createKey('acme', 'alpha')).key, (await h.createKey('acme', 'beta')).key];
    const started = await fetch(`${h.publicUrl}/upload/v1beta/files`, {
      method: 'POST',
      headers: {
        'x-goog-api-key': a,
        'x-goog-upload-protocol': 'resumable',
        'x-goog-upload-command': 'start',
        'x-goog-upload-header-content-length': '5',
        'x-goog-upload-header-content-type': 'text/plain',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ file: { displayName: 'five' } }),
    });
    const url = started.headers.get('x-goog-upload-url')!;
    expect(url).toMatch(new RegExp(`^${h.publicUrl}/upload/v1beta/files\\?upload_id=[0-9a-f]+&upload_protocol=resumable$`));
    expect(started.headers.get('x-goog-upload-control-url')).toBe(url);

    const chunk = (key: string) =>
      fetch(url, { method: 'POST', headers: { 'x-goog-api-key': key, 'x-goog-upload-command': 'upload, finalize', 'x-goog-upload-offset': '0' }, body: 'hello' });
    const forwarded = h.fake.requests.length;
    const refused = await chunk(b);
    expect(refused.status).toBe(404);
    expect(h.fake.requests.length).toBe(forwarded);
    // A second (or empty first) upload_id must not smuggle A's session past a check of B's.
    const bUrl = (
      await fetch(`${h.publicUrl}/upload/v1beta/files`, {
        method: 'POST',
        headers: { 'x-goog-api-key': b, 'x-goog-upload-protocol': 'resumable', 'x-goog-upload-command': 'start', 'content-type': 'application/json' },
        body: '{"file":{}}',
      })
    ).headers.get('x-goog-upload-url')!;
    const aId = new URL(url).searchParams.get('upload_id')!;
    const bId = new URL(bUrl).searchParams.get('upload_id')!;
    const afterStart = h.fake.requests.length;
    for (const search of [`?upload_id=${bId}&upload_id=${aId}`, `?upload_id=&upload_id=${aId}`, `?upload_id&upload_id=${aId}`]) {
      const res = await fetch(`${h.publicUrl}/upload/v1beta/files${search}&upload_protocol=resumable`, {
        method: 'POST',
        headers: { 'x-goog-api-key': b, 'x-goog-upload-command': 'upload', 'x-goog-upload-offset': '0' },
        body: 'hel',
      });
      expect([search, res.status]).toEqual([search, 404]);
    }
    expect(h.fake.requests.length).toBe(afterStart);
    const done = await chunk(a);
    expect(done.status).toBe(200);
    expect(done.headers.get('x-goog-upload-status')).toBe('final');
  });
});

describe('a gateway mounted at the root', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  it('serves prefixed and unprefixed paths alike when PUBLIC_BASE_URL has a path (a proxy in front may strip it)', async () => {
    h = await startHarness({ publicPath: '/gw' });
    const key = (await h.createKey()).key;
    const [viaPrefix, direct] = await Promise.all([
      fetch(`${h.url}/gw/v1beta/models`, { headers: { 'x-goog-api-key': key } }),
      fetch(`${h.url}/v1beta/models`, { headers: { 'x-goog-api-key': key } }),
    ]);
    expect([viaPrefix.status, direct.status]).toEqual([200, 200]);
    expect((await fetch(`${h.url}/gw/healthz`)).status).toBe(200);
  });

  it('leaves paths untouched without a prefix: /gw/… is not a Gemini path', async () => {
    h = await startHarness();
    const res = await fetch(`${h.url}/gw/v1beta/models`, { headers: { 'x-goog-api-key': (await h.createKey()).key } });
    expect(res.status).toBe(404);
  });
});
