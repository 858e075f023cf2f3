import { ApiError, type GoogleGenAI } from '@google/genai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { finalGenerateUsage, finalInteractionUsage, loadInteractionChunks } from '../support/fixtures.js';
import { directSdk, startHarness, type Harness, type UsageEventRow } from '../support/harness.js';

/** SDK results carry the raw HTTP response (timings, URLs); compare the API data only. */
const plain = (x: unknown): unknown =>
  JSON.parse(JSON.stringify(x, (k, v: unknown) => (k === 'sdkHttpResponse' || v instanceof Response || v instanceof Headers ? undefined : v)));

/** The columns a row must carry for a generateContent-family usageMetadata object. */
function expectGenerateUsage(row: UsageEventRow, u: Record<string, number | undefined>) {
  expect({
    prompt: row.prompt_tokens, cached: row.cached_tokens, output: row.output_tokens,
    thoughts: row.thoughts_tokens, tool: row.tool_use_prompt_tokens, total: row.total_tokens,
  }).toEqual({
    prompt: u.promptTokenCount ?? 0, cached: u.cachedContentTokenCount ?? 0, output: u.candidatesTokenCount ?? 0,
    thoughts: u.thoughtsTokenCount ?? 0, tool: u.toolUsePromptTokenCount ?? 0, total: u.totalTokenCount,
  });
  expect(JSON.parse(row.usage_json!)).toEqual(u);
}

function expectInteractionUsage(row: UsageEventRow, u: Record<string, number>) {
  expect([row.prompt_tokens, row.cached_tokens, row.output_tokens, row.thoughts_tokens, row.tool_use_prompt_tokens, row.total_tokens]).toEqual([
    u.total_input_tokens, u.total_cached_tokens ?? 0, u.total_output_tokens, u.total_thought_tokens ?? 0, u.total_tool_use_tokens ?? 0, u.total_tokens,
  ]);
  expect(JSON.parse(row.usage_json!)).toEqual(u);
}

describe('the @google/genai SDK through the gateway', () => {
  let h: Harness;
  let via: GoogleGenAI;
  let direct: GoogleGenAI;
  let key: { id: string; key: string };

  beforeEach(async () => {
    h = await startHarness();
    key = await h.createKey('acme', 'web');
    via = h.sdk(key.key);
    direct = directSdk(h.fake);
  });
  afterEach(async () => h.close());

  it.each(['google-text', 'google-reasoning', 'google-tool-call-gemini3'])('generateContent (%s) matches direct and meters the fixture usage', async (model) => {
    const req = { model, contents: 'How many rs in strawberry?' };
    const [got, want] = [await via.models.generateContent(req), await direct.models.generateContent(req)];
    expect(got.candidates).toEqual(want.candidates);
    expect(got.usageMetadata).toEqual(want.usageMetadata);
    const [row] = await h.waitForRows(1);
    expect(row).toMatchObject({ endpoint: 'generateContent', model, stream: 0, status: 200, outcome: 'ok', key_id: key.id, api_version: 'v1beta', method: 'POST' });
    expectGenerateUsage(row!, finalGenerateUsage(model, false));
  });

  it.each(['google-text', 'google-reasoning-gemini3', 'google-vertex-stream-tool-call-arguments-nested.1', 'image-output'])(
    'generateContentStream (%s) yields the same chunks and meters the last usageMetadata',
    async (model) => {
      const collect = async (ai: GoogleGenAI) => {
        const out = [];
        for await (const chunk of await ai.models.generateContentStream({ model, contents: 'hi' })) out.push(chunk);
        return out;
      };
      const [got, want] = [await collect(via), await collect(direct)];
      expect(got.length).toBe(want.length);
      expect(got.map((c) => c.candidates)).toEqual(want.map((c) => c.candidates));
      const [row] = await h.waitForRows(1);
      expect(row).toMatchObject({ endpoint: 'streamGenerateContent', stream: 1, status: 200, outcome: 'ok' });
      expectGenerateUsage(row!, want.at(-1)!.usageMetadata as Record<string, number>);
      if (model !== 'image-output') expectGenerateUsage(row!, finalGenerateUsage(model, true));
    },
  );

  it('countTokens and embedContent pass through and are recorded without usage', async () => {
    const count = await via.models.countTokens({ model: 'gemini-2.5-flash', contents: 'The quick brown fox jumps over the lazy dog.' });
    expect(plain(count)).toEqual(plain(await direct.models.countTokens({ model: 'gemini-2.5-flash', contents: 'The quick brown fox jumps over the lazy dog.' })));
    const emb = await via.models.embedContent({ model: 'gemini-embedding-001', contents: ['a', 'b'] });
    expect(emb.embeddings).toEqual((await direct.models.embedContent({ model: 'gemini-embedding-001', contents: ['a', 'b'] })).embeddings);
    const rows = await h.waitForRows(2);
    expect(rows.map((r) => [r.endpoint, r.model, r.total_tokens, r.usage_json])).toEqual([
      ['countTokens', 'gemini-2.5-flash', null, null],
      ['batchEmbedContents', 'gemini-embedding-001', null, null],
    ]);
  });

  it('embeddings that report usageMetadata are metered', async () => {
    await via.models.embedContent({ model: 'embed-with-usage', contents: ['one two three', 'four'] });
    const [row] = await h.waitForRows(1);
    expect(row!.prompt_tokens).toBe(4);
    expect(row!.total_tokens).toBe(4);
  });

  it('interactions.create unary matches direct and meters top-level usage', async () => {
    const got = await via.interactions.create({ model: 'basic', input: 'Hello, how are you?' });
    const want = await direct.interactions.create({ model: 'basic', input: 'Hello, how are you?' });
    expect(plain(got)).toEqual(plain(want));
    const [row] = await h.waitForRows(1);
    expect(row).toMatchObject({ endpoint: 'interactions.create', model: 'basic', stream: 0, outcome: 'ok' });
    expectInteractionUsage(row!, finalInteractionUsage('basic', false));
  });

  it.each(['basic', 'google-search', 'tool-call-step1'])('interactions.create streamed (%s) yields the same events and meters interaction.completed', async (model) => {
    const collect = async (ai: GoogleGenAI) => {
      const out = [];
      for await (const ev of await ai.interactions.create({ model, input: 'hi', stream: true })) out.push(ev);
      return out;
    };
    const [got, want] = [await collect(via), await collect(direct)];
    expect(plain(got)).toEqual(plain(want));
    expect(got.length).toBe(loadInteractionChunks(model).length);
    const [row] = await h.waitForRows(1);
    expect(row).toMatchObject({ endpoint: 'interactions.create', stream: 1, outcome: 'ok', model });
    expectInteractionUsage(row!, finalInteractionUsage(model, true));
  });

  it('interactions.get returns the stored interaction; its usage was billed by the create', async () => {
    // Created through the gateway: an interaction it never saw created belongs to no project and is refused.
    const created = await via.interactions.create({ model: 'basic', input: 'x' });
    const got = await via.interactions.get(created.id!);
    expect(plain(got)).toEqual(plain(await direct.interactions.get(created.id!)));
    const [create, row] = await h.waitForRows(2);
    expectInteractionUsage(create!, finalInteractionUsage('basic', false));
    expect(row).toMatchObject({ endpoint: 'interactions.get', outcome: 'ok', model: 'gemini-2.5-flash', total_tokens: null });
  });

  it("an upstream 429 reaches the SDK as Google's error, unchanged", async () => {
    const call = (ai: GoogleGenAI) => ai.models.generateContent({ model: 'rate-limited', contents: 'x' }).then(() => null, (e: unknown) => e);
    const [got, want] = [await call(via), await call(direct)];
    expect(got).toBeInstanceOf(ApiError);
    expect((got as ApiError).status).toBe(429);
    expect((got as ApiError).message).toBe((want as ApiError).message);
    const [row] = await h.waitForRows(1);
    expect(row).toMatchObject({ status: 429, outcome: 'upstream_error', total_tokens: null, usage_json: null });
  });
});
