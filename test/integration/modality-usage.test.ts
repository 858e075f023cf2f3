import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendJson } from '../support/fake-upstream-http.js';
import { startHarness, type Harness } from '../support/harness.js';
import { ADMIN_TOKEN, getJson, seedKey, type SeedKey } from '../support/usage-seed.js';

/*
 * A model that takes audio in and gives images out, priced by a PRICES_FILE table, answered by a
 * fake upstream with Google's per-modality usage lists. The row's cost must be what the table's
 * rates give by hand, and /admin/v1/usage must split the same tokens by modality.
 */
const MODEL = 'omni-test-model';
const PRICE = { input: 0.3, input_audio: 1.0, cached_input: 0.03, cached_input_audio: 0.1, output: 2.5, output_image: 30, thinking: 2.5 };
const USAGE = {
  promptTokenCount: 2500, cachedContentTokenCount: 500, candidatesTokenCount: 1300, thoughtsTokenCount: 40, totalTokenCount: 3840,
  promptTokensDetails: [{ modality: 'TEXT', tokenCount: 500 }, { modality: 'AUDIO', tokenCount: 2000 }],
  cacheTokensDetails: [{ modality: 'AUDIO', tokenCount: 500 }],
  candidatesTokensDetails: [{ modality: 'IMAGE', tokenCount: 1290 }],
};
let h: Harness;
let key: SeedKey;
const now = Date.parse('2026-06-10T10:15:00Z');

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ggw-prices-'));
  const file = join(dir, 'prices.json');
  writeFileSync(file, JSON.stringify({ effective_from: '2026-01-01', models: { [MODEL]: PRICE } }));
  h = await startHarness({
    env: { ADMIN_TOKEN, PRICES_FILE: file },
    clock: { now: () => now },
    fake: {
      intercept: (ctx) => {
        if (!ctx.url.pathname.endsWith(`models/${MODEL}:generateContent`)) return false;
        sendJson(ctx, 200, {
          candidates: [{ content: { role: 'model', parts: [{ text: 'here' }, { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } }] }, finishReason: 'STOP' }],
          usageMetadata: USAGE,
          modelVersion: MODEL,
        });
        return true;
      },
    },
  });
  key = await seedKey(h, 'acme', 'voice');
  const ai = h.sdk(key.key);
  await ai.models.generateContent({ model: MODEL, contents: [{ role: 'user', parts: [{ inlineData: { mimeType: 'audio/wav', data: 'UklGRg==' } }, { text: 'draw it' }] }] });
  await ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'plain text' });
  await h.waitForRows(2);
});
afterAll(async () => h.close());

describe('audio input and image output', () => {
  it('costs the response at the audio-input and image-output rates of the price table', async () => {
    const row = (await h.query<Record<string, number>>('SELECT * FROM usage_events WHERE model = ?', [MODEL]))[0]!;
    expect(row).toMatchObject({ input_audio_tokens: 2000, cached_audio_tokens: 500, output_image_tokens: 1290, output_audio_tokens: 0 });
    // By hand: uncached text 500, uncached audio 2000-500 = 1500, cached audio 500, output text 1300-1290 = 10, image 1290, thinking 40.
    const usd = (500 * PRICE.input + 1500 * PRICE.input_audio + 500 * PRICE.cached_input_audio + 10 * PRICE.output + 1290 * PRICE.output_image + 40 * PRICE.thinking) / 1e6;
    expect(row.cost_nano_usd).toBe(Math.round(usd * 1e9));
    // Priced as all-text it would have been far less: the split matters.
    expect(usd).toBeGreaterThan(((2000 * PRICE.input + 500 * PRICE.cached_input + 1340 * PRICE.output) / 1e6) * 5);
  });

  it('/admin/v1/usage groups by modality and filters to one, equal to the raw rows', async () => {
    const { status, body } = await getJson(h, '/admin/v1/usage?from=2026-06-10T00:00:00Z&to=2026-06-11T00:00:00Z&groupBy=model,modality');
    expect(status).toBe(200);
    const omni = body.groups.filter((g: any) => g.model === MODEL);
    expect(omni).toEqual([
      { model: MODEL, modality: 'text', inputTokens: 500, cachedTokens: 0, outputTokens: 10 },
      { model: MODEL, modality: 'audio', inputTokens: 2000, cachedTokens: 500, outputTokens: 0 },
      { model: MODEL, modality: 'image', inputTokens: 0, cachedTokens: 0, outputTokens: 1290 },
    ].sort((a, b) => ['text', 'image', 'audio'].indexOf(a.modality) - ['text', 'image', 'audio'].indexOf(b.modality)));
    const raw = (await h.query<{ a: number; i: number; c: number }>('SELECT sum(input_audio_tokens) AS a, sum(output_image_tokens) AS i, sum(cost_nano_usd) AS c FROM usage_events'))[0]!;
    expect(body.totals).toMatchObject({ audioInputTokens: raw.a, imageOutputTokens: raw.i, inputAudioTokens: raw.a, outputImageTokens: raw.i, estimatedCostUsd: raw.c / 1e9 });

    const audio = await getJson(h, '/admin/v1/usage?from=2026-06-10T00:00:00Z&to=2026-06-11T00:00:00Z&groupBy=model&modality=audio');
    expect(audio.body.groups).toEqual([{ model: MODEL, modality: 'audio', inputTokens: 2000, cachedTokens: 500, outputTokens: 0 }]);
  });

  it('lists the split on raw events', async () => {
    const { body } = await getJson(h, `/admin/v1/usage/events?model=${MODEL}`);
    expect(body.data[0]).toMatchObject({ inputAudioTokens: 2000, cachedAudioTokens: 500, outputImageTokens: 1290, images: 0, videoSeconds: 0 });
  });
});
