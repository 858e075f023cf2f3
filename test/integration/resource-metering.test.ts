import { afterEach, describe, expect, it } from 'vitest';
import { envKeyId } from '../../src/upstream/key-pool.js';
import { fakeTokenCount } from '../support/fixtures.js';
import { startHarness, UPSTREAM_KEY, UPSTREAM_KEY_2, type Harness } from '../support/harness.js';
import { statusOf } from '../support/sdk-status.js';

describe('metering for embeddings, countTokens and batches', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  it('embedding rows carry the upstream usageMetadata and the upstream key; countTokens is recorded without usage', async () => {
    h = await startHarness();
    const ai = h.sdk((await h.createKey()).key);
    await ai.models.embedContent({ model: 'embed-with-usage', contents: ['one two three', 'four'] });
    await ai.models.countTokens({ model: 'gemini-2.5-flash', contents: 'count me' });
    const rows = await h.waitForRows(2);
    expect(rows.map((r) => [r.endpoint, r.prompt_tokens, r.total_tokens, r.upstream_key_id])).toEqual([
      ['batchEmbedContents', 4, 4, envKeyId(UPSTREAM_KEY)],
      ['countTokens', null, null, envKeyId(UPSTREAM_KEY)],
    ]);
  });

  it('a batch seen in its final state is metered once, against the owner and the key that ran it; other projects cannot see it', async () => {
    h = await startHarness({ extraUpstreamKeys: [UPSTREAM_KEY_2] });
    const ownerKey = await h.createKey('acme', 'alpha');
    const [a, b] = [h.sdk(ownerKey.key), h.sdk((await h.createKey('acme', 'beta')).key)];
    await a.models.generateContent({ model: 'gemini-2.5-flash', contents: 'rotate the pool once' });
    const requests = [{ contents: [{ role: 'user', parts: [{ text: 'first question here' }] }] }, { contents: [{ role: 'user', parts: [{ text: 'second' }] }] }];
    const job = await a.batches.create({ model: 'gemini-2.5-flash', src: requests });
    expect(job.name).toMatch(/^batches\//);

    expect((await a.batches.get({ name: job.name! })).state).toBe('JOB_STATE_RUNNING');
    expect((await h.rows()).filter((r) => r.endpoint === 'batches.completed')).toEqual([]);
    expect((await a.batches.get({ name: job.name! })).state).toBe('JOB_STATE_SUCCEEDED');
    expect((await a.batches.get({ name: job.name! })).state).toBe('JOB_STATE_SUCCEEDED');
    expect(await statusOf(b.batches.get({ name: job.name! }))).toBe(404);
    const seenByB = [];
    for await (const j of await b.batches.list()) seenByB.push(j.name);
    expect(seenByB).toEqual([]);

    const completed = (await h.rows()).filter((r) => r.endpoint === 'batches.completed');
    const prompt = requests.reduce((n, r) => n + fakeTokenCount(r), 0);
    expect(completed).toHaveLength(1);
    expect(completed[0]).toMatchObject({
      project_id: (await h.rows())[0]!.project_id,
      key_id: ownerKey.id,
      upstream_key_id: envKeyId(UPSTREAM_KEY_2),
      model: 'gemini-2.5-flash',
      outcome: 'ok',
      prompt_tokens: prompt,
      output_tokens: 3 * requests.length,
      total_tokens: prompt + 3 * requests.length,
    });
    const batchCalls = h.fake.requests.filter((r) => r.url.includes('/batches/') || r.url.includes(':batchGenerateContent'));
    expect(new Set(batchCalls.map((r) => r.headers['x-goog-api-key']))).toEqual(new Set([UPSTREAM_KEY_2])); // pinned
  });
});
