// Token counts past 2^31: one request can report them only through a sum (a large Batch API job's
// per-request usages, summed into its one row), but whatever the source, the row must be stored as
// reported on both backends, and must not hold up the rows after it.
import { afterEach, describe, expect, it } from 'vitest';
import type { RouteContext } from '../support/fake-upstream-http.js';
import { startHarness, type Harness } from '../support/harness.js';

const HUGE = { promptTokenCount: 3_000_000_000, candidatesTokenCount: 20, totalTokenCount: 3_000_000_020 };

/** A fake upstream route: generateContent on `model` answers with this usageMetadata, as reported. */
const answering = (model: string, usageMetadata: object) => ({ url, res }: RouteContext) => {
  if (!url.pathname.includes(`/models/${model}:`)) return false;
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ candidates: [{ content: { role: 'model', parts: [{ text: 'ok' }] } }], usageMetadata, modelVersion: model }));
  return true;
};

describe('usage rows with token counts past 2^31', () => {
  let h: Harness | undefined;
  afterEach(async () => h?.close());

  it('are stored as reported, and the rows after them are written too', async () => {
    h = await startHarness({ fake: { intercept: answering('google-huge', HUGE) } });
    const { key } = await h.createKey();
    const sdk = h.sdk(key);
    const huge = await sdk.models.generateContent({ model: 'google-huge', contents: 'hi' });
    expect(huge.usageMetadata?.totalTokenCount).toBe(HUGE.totalTokenCount);
    await sdk.models.generateContent({ model: 'google-text', contents: 'after' });

    const rows = await h.waitForRows(2);
    expect(rows.map((r) => r.model)).toEqual(['google-huge', 'google-text']);
    expect(rows[0]).toMatchObject({ prompt_tokens: HUGE.promptTokenCount, output_tokens: 20, total_tokens: HUGE.totalTokenCount });
    const hourly = await h.scalar<number>('SELECT SUM(total_tokens) FROM usage_rollups_hourly');
    expect(hourly).toBe(HUGE.totalTokenCount + rows[1]!.total_tokens!);
  });

  it('a count that is not a whole number (fractional, negative, past 2^53) is stored as a whole one, and does not hold up the rows after it', async () => {
    const odd = { promptTokenCount: 12.5, candidatesTokenCount: -3, totalTokenCount: 1e21, promptTokensDetails: [{ modality: 'AUDIO', tokenCount: 4.75 }] };
    h = await startHarness({ fake: { intercept: answering('google-odd', odd) } });
    const { key } = await h.createKey();
    const sdk = h.sdk(key);
    await sdk.models.generateContent({ model: 'google-odd', contents: 'hi' });
    await sdk.models.generateContent({ model: 'google-text', contents: 'after' });

    const rows = await h.waitForRows(2);
    expect(rows.map((r) => r.model)).toEqual(['google-odd', 'google-text']);
    expect(rows[0]).toMatchObject({ prompt_tokens: 12, output_tokens: 0, total_tokens: Number.MAX_SAFE_INTEGER });
    expect(await h.scalar<number>('SELECT input_audio_tokens FROM usage_events WHERE model = ?', ['google-odd'])).toBe(4);
    // The upstream's own numbers are kept as it sent them.
    expect(JSON.parse(rows[0]!.usage_json!)).toEqual(odd);
  });

  it('a video length past 2^31 s in a client\'s request, if upstream accepts it, does not hold up the rows after it', async () => {
    h = await startHarness();
    const { key } = await h.createKey();
    const res = await fetch(`${h.url}/v1beta/models/veo-3.0-generate-001:predictLongRunning`, {
      method: 'POST', headers: { 'x-goog-api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify({ instances: [{ prompt: 'waves' }], parameters: { durationSeconds: 3e9 } }),
    });
    expect(res.status).toBe(200);
    await res.text();
    await h.sdk(key).models.generateContent({ model: 'google-text', contents: 'after' });
    const rows = await h.waitForRows(2);
    expect(rows.map((r) => r.endpoint)).toEqual(['predictLongRunning', 'generateContent']);
  });
});
