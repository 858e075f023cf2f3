import { afterEach, describe, expect, it } from 'vitest';
import { estimateTokens } from '../../src/quota/estimate.js';
import { startHarness, type Harness } from '../support/harness.js';
import { ADMIN_ENV, generate, meteredTotal, setLimits } from '../support/quota.js';

const MAX = 20;
let h: Harness;
afterEach(async () => h?.close());

/** What admission reserves for generate()'s body with this maxOutputTokens. */
const reserveFor = (maxOutputTokens: number) =>
  estimateTokens('generateContent', { contents: [{ role: 'user', parts: [{ text: 'hi' }] }], generationConfig: { maxOutputTokens } }, 0, 4096);

/** The gauge of quota counter buckets held in memory, from /metrics. */
async function buckets(): Promise<number> {
  const text = await (await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_ENV.ADMIN_TOKEN}` } })).text();
  return Number(/^gemini_gateway_quota_buckets (\d+)$/m.exec(text)?.[1]);
}

/** One request each for `n` model names nobody has a rule for (upstream does not know them either). */
async function madeUpModels(key: string, from: number, n: number): Promise<void> {
  for (let i = from; i < from + n; i++) await (await generate(h, key, { model: `made-up-${i}` })).arrayBuffer();
}

describe('quota counters of models no rule names', () => {
  it('stay bounded however many model names clients send; a rule added later for a dropped one sees its usage, and a ruled one is never dropped', async () => {
    h = await startHarness({ env: { ...ADMIN_ENV, QUOTA_MAX_MODEL_BUCKETS: String(MAX) } });
    const key = await h.createKey('acme', 'web');
    const projectId = await h.projectOf(key.id);
    for (let i = 0; i < 2; i++) expect((await generate(h, key.key, { maxOutputTokens: 50 })).status).toBe(200);
    await h.waitForRows(2);
    const used = await meteredTotal(h);
    expect(used).toBeGreaterThan(0);

    // google-text's bucket is the oldest and idle: the first to go.
    await madeUpModels(key.key, 0, 4 * MAX);
    // The project's bucket, the key's, and at most MAX models.
    expect(await buckets()).toBeLessThanOrEqual(2 + MAX);
    await h.waitForRows(2 + 4 * MAX);

    // A day budget one token short of the next request's reservation on top of what google-text used:
    // refused only if the day's usage came back with the rule (a fresh bucket would count 0).
    const limit = used + reserveFor(50) - 1;
    await setLimits(h, projectId, { limits: [{ model: 'google-text', tokensPerDay: limit }] });
    expect((await generate(h, key.key, { maxOutputTokens: 50 })).status).toBe(429);

    // Named by a rule, its bucket stays through another flood of names.
    await madeUpModels(key.key, 4 * MAX, 4 * MAX);
    expect(await buckets()).toBeLessThanOrEqual(2 + MAX);
    expect((await generate(h, key.key, { maxOutputTokens: 50 })).status).toBe(429);
    // What is left still admits a request that fits.
    expect(reserveFor(1)).toBeLessThanOrEqual(limit - used);
    expect((await generate(h, key.key, { maxOutputTokens: 1 })).status).toBe(200);
  });
});
