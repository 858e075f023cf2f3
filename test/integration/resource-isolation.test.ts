import { createPartFromUri, type GoogleGenAI } from '@google/genai';
import { request } from 'node:http';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { dropPrefix, testPrefix, TEST_REDIS_URL } from '../support/redis-server.js';
import { directSdk, GATEWAY_SECRET, startHarness, type Harness } from '../support/harness.js';
import { statusOf, upstreamCalls } from '../support/sdk-status.js';

describe('resources belong to the project that created them', () => {
  let h: Harness;
  let a: GoogleGenAI;
  let b: GoogleGenAI;

  const start = async (opts: Parameters<typeof startHarness>[0] = {}) => {
    h = await startHarness({ ...opts, env: { ADMIN_TOKEN: 'admin-token-for-tests-0123456789', ...opts.env } });
    a = h.sdk((await h.createKey('acme', 'alpha')).key);
    b = h.sdk((await h.createKey('acme', 'beta')).key);
  };
  afterEach(async () => h?.close());

  it('a file uploaded by A cannot be read, deleted, listed or used by B; A can do all of it', async () => {
    await start();
    const file = await a.files.upload({ file: new Blob(['hello from alpha']), config: { mimeType: 'text/plain', displayName: 'alpha.txt' } });
    expect(file.name).toMatch(/^files\//);

    expect(await statusOf(b.files.get({ name: file.name! }))).toBe(404);
    expect(await statusOf(b.files.delete({ name: file.name! }))).toBe(404);
    const seenByB = [];
    for await (const f of await b.files.list()) seenByB.push(f.name);
    expect(seenByB).toEqual([]);
    const generates = upstreamCalls(h, ':generateContent').length;
    const useIt = (ai: GoogleGenAI) =>
      ai.models.generateContent({ model: 'gemini-2.5-flash', contents: [{ role: 'user', parts: [createPartFromUri(file.uri!, 'text/plain'), { text: 'summarise' }] }] });
    expect(await statusOf(useIt(b))).toBe(404);
    expect(upstreamCalls(h, ':generateContent').length).toBe(generates); // refused before forwarding

    expect((await a.files.get({ name: file.name! })).displayName).toBe('alpha.txt');
    const seenByA = [];
    for await (const f of await a.files.list()) seenByA.push(f.name);
    expect(seenByA).toEqual([file.name]);
    expect(await statusOf(useIt(a))).toBe(200);
    expect(await statusOf(a.files.delete({ name: file.name! }))).toBe(200);
    expect(await statusOf(a.files.get({ name: file.name! }))).toBe(404);
  });

  it('the /upload/ prefix is no side door: B can neither read, download, delete nor list A\'s file through it', async () => {
    await start();
    const file = await a.files.upload({ file: new Blob(['hello from alpha']), config: { mimeType: 'text/plain' } });
    const bKey = (await h.createKey('acme', 'beta')).key;
    // B's own upload session: its upload_id must not vouch for A's file named in the path.
    const started = await fetch(`${h.url}/upload/v1beta/files`, {
      method: 'POST',
      headers: { 'x-goog-api-key': bKey, 'x-goog-upload-protocol': 'resumable', 'x-goog-upload-command': 'start', 'content-type': 'application/json' },
      body: '{"file":{}}',
    });
    const bSession = new URL(started.headers.get('x-goog-upload-url')!).search;
    const send = (method: string, path: string) => fetch(`${h.url}${path}`, { method, headers: { 'x-goog-api-key': bKey } });
    const forwarded = h.fake.requests.length;
    for (const [method, path] of [
      ['GET', `/upload/v1beta/${file.name}`],
      ['GET', `/upload/v1beta/${file.name}:download?alt=media`],
      ['GET', `/upload/v1beta/${file.name}${bSession}`],
      ['DELETE', `/upload/v1beta/${file.name}`],
    ]) {
      const res = await send(method!, path!);
      expect([method, path, res.status]).toEqual([method, path, 404]);
    }
    expect(h.fake.requests.length).toBe(forwarded);
    const listed = (await (await send('GET', '/upload/v1beta/files')).json()) as { files?: unknown[] };
    expect(listed.files ?? []).toEqual([]);
    expect(await statusOf(a.files.get({ name: file.name! }))).toBe(200);
  });

  it('a list path with a trailing slash is filtered like the list itself (whatever upstream makes of the slash)', async () => {
    await start();
    const file = await a.files.upload({ file: new Blob(['listed by alpha']), config: { mimeType: 'text/plain' } });
    const bKey = (await h.createKey('acme', 'beta')).key;
    const aKey = (await h.createKey('acme', 'alpha')).key;
    const list = async (key: string, path: string) => {
      const res = await fetch(`${h.url}${path}`, { headers: { 'x-goog-api-key': key } });
      expect(res.status).toBe(200);
      return ((await res.json()) as { files?: Array<{ name: string }> }).files?.map((f) => f.name) ?? [];
    };
    for (const path of ['/v1beta/files/', '/upload/v1beta/files/']) {
      expect(await list(bKey, path)).toEqual([]);
      expect(await list(aKey, path)).toEqual([file.name]);
    }
  });

  it('the 404 for a foreign resource is byte-identical to the one for a resource that does not exist', async () => {
    await start();
    const file = await a.files.upload({ file: new Blob(['x']), config: { mimeType: 'text/plain' } });
    const get = async (name: string) => {
      const res = await fetch(`${h.url}/v1beta/${name}`, { headers: { 'x-goog-api-key': (await h.createKey('acme', 'beta')).key } });
      return [res.status, await res.text()];
    };
    expect(await get(file.name!)).toEqual(await get('files/doesnotexist'));
    expect((await get(file.name!))[1]).toContain('"status":"NOT_FOUND"');
  });

  it.runIf(inject('redisAvailable'))('with replicas, a foreign resource takes as long to refuse as one that does not exist', async () => {
    const prefix = testPrefix();
    try {
      await start({ env: { REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: prefix, USAGE_FLUSH_INTERVAL_MS: '50' } });
      const file = await a.files.upload({ file: new Blob(['x']), config: { mimeType: 'text/plain' } });
      const bKey = (await h.createKey('acme', 'gamma')).key;
      const timed = async (name: string) => {
        const t0 = performance.now();
        const res = await fetch(`${h.url}/v1beta/${name}`, { headers: { 'x-goog-api-key': bKey } });
        expect(res.status).toBe(404);
        await res.text();
        return performance.now() - t0;
      };
      await timed('files/warmup'); // the key's first lookup
      const unknown = await timed('files/doesnotexist');
      const foreign = await timed(file.name!);
      // Unknown names are looked up again for 6 × (flush + 50 ms) before the 404; a foreign one must not answer sooner.
      expect(unknown).toBeGreaterThan(500);
      expect(foreign).toBeGreaterThan(unknown * 0.8);
    } finally {
      await dropPrefix(TEST_REDIS_URL, prefix).catch(() => {});
    }
  });

  it('B can neither continue, read nor delete A\'s interaction, nor see one A streamed; A can', async () => {
    await start();
    const first = await a.interactions.create({ model: 'multi-turn-stateful-turn1', input: 'My name is Ada.' });
    const streamed = [];
    for await (const ev of await a.interactions.create({ model: 'basic', input: 'hi', stream: true })) streamed.push(ev);
    const streamedId = (streamed[0] as { interaction?: { id?: string } }).interaction!.id!;
    const creates = upstreamCalls(h, '/interactions').length;

    const turn2 = { model: 'multi-turn-stateful-turn2', input: 'What is my name?', previous_interaction_id: first.id! };
    expect(await statusOf(b.interactions.create(turn2))).toBe(404);
    expect(await statusOf(b.interactions.get(first.id!))).toBe(404);
    expect(await statusOf(b.interactions.get(streamedId))).toBe(404);
    expect(await statusOf(b.interactions.delete(first.id!))).toBe(404);
    expect(upstreamCalls(h, '/interactions').length).toBe(creates);

    expect(await statusOf(a.interactions.create(turn2))).toBe(200);
    expect(await statusOf(a.interactions.get(streamedId))).toBe(200);
  });

  it('B cannot use or read A\'s cached content; A can; creation is metered as cache-storage tokens', async () => {
    await start();
    const cache = await a.caches.create({ model: 'gemini-2.5-flash', config: { contents: [{ role: 'user', parts: [{ text: 'a long shared context of eight words here' }] }] } });
    const ask = (ai: GoogleGenAI) => ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'question', config: { cachedContent: cache.name! } });
    expect(await statusOf(ask(b))).toBe(404);
    expect(await statusOf(b.caches.get({ name: cache.name! }))).toBe(404);
    expect(await statusOf(ask(a))).toBe(200);
    expect(await statusOf(a.caches.get({ name: cache.name! }))).toBe(200);
    const created = (await h.waitForRows(1)).find((r) => r.endpoint === 'cachedContents' && r.method === 'POST')!;
    expect(created).toMatchObject({ cache_storage_tokens: 8, total_tokens: 8, prompt_tokens: 0, model: 'gemini-2.5-flash' });
  });

  it('a resource can be pinned only to a pool key or its own project\'s stored key; another project\'s is refused where the mistake is made', async () => {
    await start({ env: { GATEWAY_SECRET } });
    const projectOf = async (slug: string) => (await h.admin('GET', `/admin/v1/projects?tenant=acme`)).body.data.find((p: any) => p.slug === slug).id as string;
    const betaKey = await h.admin('POST', '/admin/v1/upstream-keys', { projectId: await projectOf('beta'), secret: 'test-FAKE-beta-own-upstream-key-0123456789' });
    expect(betaKey.status).toBe(201);
    const assign = (upstreamKeyId: string) => h.admin('POST', '/admin/v1/resources/assign', { name: 'files/pinned-elsewhere', tenant: 'acme', project: 'alpha', upstreamKeyId });
    const foreign = await assign(betaKey.body.id);
    expect(foreign.status).toBe(422);
    expect(foreign.body.error.message).toMatch(/belongs to another project/);
    expect((await assign('uk_no_such_key')).status).toBe(404);
    expect((await h.admin('GET', '/admin/v1/resources?kind=files')).body.data).toEqual([]);
    // Pinned to beta's own key, for beta: allowed.
    const own = await h.admin('POST', '/admin/v1/resources/assign', { name: 'files/pinned-elsewhere', tenant: 'acme', project: 'beta', upstreamKeyId: betaKey.body.id });
    expect(own.status).toBe(200);
  });

  it('a resource the gateway never saw created is refused to everyone until an admin assigns it', async () => {
    await start();
    const orphan = await directSdk(h.fake).files.upload({ file: new Blob(['made upstream']), config: { mimeType: 'text/plain' } });
    expect(await statusOf(a.files.get({ name: orphan.name! }))).toBe(404);
    const res = await fetch(`${h.url}/admin/v1/resources/assign`, {
      method: 'POST',
      headers: { authorization: 'Bearer admin-token-for-tests-0123456789', 'content-type': 'application/json' },
      body: JSON.stringify({ name: orphan.name, tenant: 'acme', project: 'alpha' }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ name: orphan.name, source: 'assigned', createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    expect(await statusOf(a.files.get({ name: orphan.name! }))).toBe(200);
    // Audited like every admin write, and listed (ISO times, the list envelope, owner filters by slug).
    const audit = await h.admin('GET', '/admin/v1/audit?action=resource.assign');
    expect(audit.body.data).toMatchObject([{ actor: 'admin-token', target: { type: 'resource', id: orphan.name }, before: null, after: { name: orphan.name, source: 'assigned' } }]);
    const listed = await h.admin('GET', '/admin/v1/resources?tenant=acme&project=alpha&kind=files');
    expect(listed.body).toMatchObject({ data: expect.arrayContaining([expect.objectContaining({ name: orphan.name })]), nextCursor: null });
    expect((await h.admin('GET', '/admin/v1/resources?tenant=acme&project=beta&kind=files')).body.data.map((r: any) => r.name)).not.toContain(orphan.name);
    const doc = (await (await fetch(`${h.url}/admin/v1/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/admin/v1/resources/assign', '/admin/v1/resources', '/admin/v1/upstream-key-pool']));
    expect(await statusOf(b.files.get({ name: orphan.name! }))).toBe(404);
  });

  it('finds references however the request is shaped: large streamed bodies, JSON escapes, interaction inputs, encoded paths', async () => {
    await start();
    const file = await a.files.upload({ file: new Blob(['secret notes']), config: { mimeType: 'text/plain' } });
    const bKey = (await h.createKey('acme', 'beta')).key;
    const send = (path: string, body?: string, method = 'POST') =>
      fetch(`${h.url}${path}`, { method, headers: { 'x-goog-api-key': bKey, 'content-type': 'application/json' }, body }).then((r) => r.status);
    const forwarded = h.fake.requests.length;
    const part = `{"fileData":{"fileUri":"${file.uri}","mimeType":"text/plain"}}`;
    const padding = 'x'.repeat(1_500_000); // past the 1 MiB the gateway buffers anyway
    expect(await send('/v1beta/models/gemini-2.5-flash:generateContent', `{"contents":[{"parts":[{"text":"${padding}"},${part}]}]}`)).toBe(404);
    const escaped = `{"contents":[{"parts":[{"\u0066ileData":{"\u0066ileUri":"${file.name!.replace('f', '\u0066')}"}}]}]}`;
    expect(await send('/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse', escaped)).toBe(404);
    expect(await send('/v1beta/interactions', JSON.stringify({ model: 'basic', input: [{ type: 'document', uri: file.uri, mime_type: 'text/plain' }] }))).toBe(404);
    // An encoded slash is refused before routing (request-target guard), so it never reaches the ownership check.
    expect(await send(`/v1beta/${file.name!.replace('/', '%2F')}`, undefined, 'GET')).toBe(400);
    // fetch would normalise the dot segment away; a raw request keeps it, as a hostile client would.
    const raw = await new Promise<number>((resolve, reject) => {
      const req = request(`${h.url}/v1beta/files/x/..%2F..%2F${file.name!.replace('/', '%2F')}`, { headers: { 'x-goog-api-key': bKey } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      req.end();
    });
    expect(raw).toBe(400);
    expect(h.fake.requests.length).toBe(forwarded);
  });
});
