// The fake upstream is what every gateway test trusts, so it gets tested
// against the real @google/genai SDK and against raw byte expectations.
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import { ApiError, GoogleGenAI } from '@google/genai';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream, type FakeUpstreamOptions } from '../support/fake-upstream.js';
import {
  finalGenerateUsage,
  finalInteractionUsage,
  framedGenerate,
  framedGenerateArray,
  framedInteraction,
  generateUnaryText,
  loadGenerateUnary,
  loadInteractionUnary,
} from '../support/fixtures.js';
import { mulberry32, planSplits } from '../support/sse-writer.js';

const UPSTREAM_KEY = 'upstream-key-0123456789';
const TENANT_KEY = 'gw-tenant-secret-abc';

let fake: FakeUpstream | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function start(extra: Partial<FakeUpstreamOptions> = {}): Promise<FakeUpstream> {
  fake = await startFakeUpstream({ upstreamKey: UPSTREAM_KEY, forbiddenSecrets: () => [TENANT_KEY], ...extra });
  return fake;
}

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function raw(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string; onFirstData?: (req: http.ClientRequest) => void } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'POST', headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => {
        if (chunks.length === 0) opts.onFirstData?.(req);
        chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

const keyed = { 'x-goog-api-key': UPSTREAM_KEY, 'content-type': 'application/json' };
const genBody = JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] });

describe('fake upstream: wire bytes', () => {
  for (const eol of ['\r\n', '\n'] as const) {
    it(`streams generateContent frames byte-exact (${JSON.stringify(eol)})`, async () => {
      const f = await start({ eol, splitSeed: 7 });
      const res = await raw(`${f.url}/v1beta/models/google-text:streamGenerateContent?alt=sse`, { headers: keyed, body: genBody });
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('text/event-stream');
      expect(res.body.equals(framedGenerate('google-text', eol))).toBe(true);
      expect(f.violations).toEqual([]);
    });
  }

  it('streams interactions with multi-byte text byte-exact, ending in [DONE]', async () => {
    const f = await start({ eol: '\n' });
    const body = JSON.stringify({ model: 'multi-turn-stateful-turn2', input: 'hi', stream: true });
    const res = await raw(`${f.url}/v1beta/interactions`, { headers: keyed, body });
    expect(res.body.equals(framedInteraction('multi-turn-stateful-turn2', '\n'))).toBe(true);
    expect(res.body.toString().endsWith('event: done\ndata: [DONE]\n\n')).toBe(true);
  });

  it('streams a JSON array without alt=sse', async () => {
    const f = await start();
    const res = await raw(`${f.url}/v1/models/google-tool-call:streamGenerateContent`, { headers: keyed, body: genBody });
    expect(res.headers['content-type']).toBe('application/json; charset=UTF-8');
    expect(res.body.equals(framedGenerateArray('google-tool-call'))).toBe(true);
    expect(JSON.parse(res.body.toString())).toHaveLength(framedGenerateArray('google-tool-call').toString().split(',\r\n').length);
  });

  it('plans splits inside a UTF-8 character and between CR and LF', () => {
    const frame = Buffer.from('data: {"text":"héllo wörld"}\r\n\r\n', 'utf8');
    for (let seed = 0; seed < 50; seed++) {
      const points = planSplits(frame, mulberry32(seed));
      expect(points.some((p) => frame[p - 1]! >= 0xc0)).toBe(true);
      expect(points.some((p) => frame[p - 1] === 0x0d && frame[p] === 0x0a)).toBe(true);
      expect(points.every((p) => p > 0 && p < frame.length)).toBe(true);
    }
  });

  it('gzips unary JSON when asked and allowed', async () => {
    const f = await start({ gzipUnary: true });
    const res = await raw(`${f.url}/v1beta/models/google-text:generateContent`, {
      headers: { ...keyed, 'accept-encoding': 'gzip, deflate' },
      body: genBody,
    });
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(res.body).toString()).toBe(generateUnaryText('google-text'));
    expect(res.headers['server-timing']).toBeTruthy();
  });

  it('marks closedEarly and stops when the client hangs up mid-stream', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const f = await start({ beforeFrame: (i) => (i === 1 ? held : undefined) });
    const done = raw(`${f.url}/v1beta/models/google-text:streamGenerateContent?alt=sse`, {
      headers: keyed,
      body: genBody,
      onFirstData: (req) => req.destroy(),
    }).catch(() => 'aborted');
    await expect(done).resolves.toBe('aborted');
    await f.requests[0]!.finished;
    expect(f.requests[0]!.closedEarly).toBe(true);
    release();
  });
});

describe('fake upstream: policing', () => {
  it('rejects a request without the upstream key, Google-style', async () => {
    const f = await start();
    const res = await raw(`${f.url}/v1beta/models/gemini-2.5-flash:generateContent`, {
      headers: { 'content-type': 'application/json' },
      body: genBody,
    });
    expect(res.status).toBe(400);
    const err = JSON.parse(res.body.toString()).error;
    expect(err.status).toBe('INVALID_ARGUMENT');
    expect(err.details[0].reason).toBe('API_KEY_INVALID');
    expect(f.violations).toEqual(['missing upstream key']);
  });

  it('records a violation when a forbidden secret is in the body', async () => {
    const f = await start();
    const body = JSON.stringify({ contents: [{ parts: [{ text: `my key is ${TENANT_KEY}` }] }] });
    const res = await raw(`${f.url}/v1beta/models/gemini-2.5-flash:generateContent`, { headers: keyed, body });
    expect(res.status).toBe(400);
    expect(f.violations).toHaveLength(1);
    expect(f.violations[0]).toMatch(/forbidden secret in body/);
    expect(f.violations[0]).not.toContain(TENANT_KEY);
    expect(f.requests[0]!.body.toString()).toBe(body);
  });

  it('flags a ?key= parameter and an Authorization header', async () => {
    const f = await start();
    await raw(`${f.url}/v1beta/models/gemini-2.5-flash:generateContent?key=zzz`, {
      headers: { ...keyed, authorization: 'Bearer zzz' },
      body: genBody,
    });
    expect(f.violations.join('\n')).toMatch(/key query parameter/);
    expect(f.violations.join('\n')).toMatch(/authorization header/);
  });
});

describe('fake upstream: real @google/genai SDK', () => {
  const sdk = (f: FakeUpstream) => new GoogleGenAI({ apiKey: UPSTREAM_KEY, httpOptions: { baseUrl: f.url } });
  const contents = 'How many r in strawberry?';

  it('generateContent, generateContentStream, countTokens, embedContent', async () => {
    const f = await start();
    const ai = sdk(f);
    const unary = await ai.models.generateContent({ model: 'gemini-2.5-flash', contents });
    expect(unary.usageMetadata).toEqual(loadGenerateUnary('google-text').usageMetadata);
    expect(unary.text).toContain('strawberry');

    const chunks = [];
    for await (const c of await ai.models.generateContentStream({ model: 'google-text', contents })) chunks.push(c);
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.at(-1)!.usageMetadata).toEqual(finalGenerateUsage('google-text', true));

    expect((await ai.models.countTokens({ model: 'gemini-2.5-flash', contents })).totalTokens).toBe(11);
    const emb = await ai.models.embedContent({ model: 'gemini-embedding-001', contents: ['a', 'b c'] });
    expect(emb.embeddings).toHaveLength(2);
    expect(emb.embeddings![0]!.values).toHaveLength(8);
    expect(f.violations).toEqual([]);
  });

  it('streams the 1.3 MB image-output recording and reports stream errors', async () => {
    const f = await start();
    const ai = sdk(f);
    const chunks = [];
    for await (const c of await ai.models.generateContentStream({ model: 'image-output', contents })) chunks.push(c);
    expect(chunks.some((c) => c.candidates?.[0]?.content?.parts?.some((p) => p.inlineData?.data))).toBe(true);
    const failing = ai.models.generateContentStream({ model: 'stream-error', contents });
    await expect(failing).rejects.toMatchObject({ status: 404 });
  });

  it('interactions: create unary + streamed, get by id', async () => {
    const f = await start();
    const ai = sdk(f);
    const unary = await ai.interactions.create({ model: 'basic', input: 'hi' });
    expect(unary.id).toBe(loadInteractionUnary('basic').id);
    // The SDK's continuation merge adds initial_input_tokens client-side; the wire carries the fixture as-is.
    expect(unary.usage).toMatchObject(finalInteractionUsage('basic', false));

    const events: any[] = [];
    for await (const ev of await ai.interactions.create({ model: 'basic', input: 'hi', stream: true })) events.push(ev);
    const completed = events.find((e) => e.event_type === 'interaction.completed');
    expect(completed.interaction.usage).toEqual(finalInteractionUsage('basic', true));

    const got = await ai.interactions.get(unary.id!);
    expect(got.id).toBe(unary.id);
    const streamedGet: any[] = [];
    for await (const ev of await ai.interactions.get(completed.interaction.id, { stream: true })) streamedGet.push(ev);
    expect(streamedGet.map((e) => e.event_type)).toEqual(events.map((e) => e.event_type));

    const post = f.requests.find((r) => r.method === 'POST' && r.url === '/v1beta/interactions')!;
    expect(post.headers['x-goog-api-key']).toBe(UPSTREAM_KEY);
    expect(f.violations).toEqual([]);
  });

  it('rate-limited model → ApiError 429', async () => {
    const f = await start();
    const err = await sdk(f)
      .models.generateContent({ model: 'rate-limited', contents })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(429);
  });

  it('files: resumable upload, get, list, delete', async () => {
    const f = await start();
    const ai = sdk(f);
    const file = await ai.files.upload({
      file: new Blob(['hello ✓ world'], { type: 'text/plain' }),
      config: { mimeType: 'text/plain', displayName: 'greeting' },
    });
    expect(file.name).toMatch(/^files\//);
    expect(file.sizeBytes).toBe(String(Buffer.byteLength('hello ✓ world')));
    expect((await ai.files.get({ name: file.name! })).displayName).toBe('greeting');
    const listed = [];
    for await (const x of await ai.files.list()) listed.push(x);
    expect(listed.map((x) => x.name)).toEqual([file.name]);
    await ai.files.delete({ name: file.name! });
    expect(f.violations).toEqual([]);
  });
});
