import { describe, expect, it } from 'vitest';
import { MODALITY_FIELDS } from '../../src/metering/modality.js';
import { extractUsage, fromInteractionUsage, fromUsageMetadata, type Usage } from '../../src/metering/usage.js';
import { createPriceBook } from '../../src/usage/prices.js';
import { loadRecording } from '../support/fixtures.js';

/** The modality split of a usage object: every modality field, nothing else. */
const split = (u: Usage | null) => Object.fromEntries(MODALITY_FIELDS.map((f) => [f, u?.[f]]));

const IMAGE_OUTPUT = 'Client_Tests_generateContentStream_ML_Dev_should_stream_generate_content_with_image_output';

describe('tokens split by modality', () => {
  it('reads the image tokens of the recorded image-output stream (last chunk) and leaves unlisted text as the remainder', () => {
    const segments = loadRecording(IMAGE_OUTPUT).interactions[0]!.response.bodySegments as unknown[];
    const { usage } = extractUsage('generate', segments);
    // The recording's last chunk: candidates 1318 of which IMAGE 1290; prompt TEXT 15.
    expect(usage).toMatchObject({ promptTokens: 15, outputTokens: 1318, outputImageTokens: 1290, inputAudioTokens: 0, inputImageTokens: 0 });
  });

  it('sums prompt and tool-use lists as input, and reads cached and output lists', () => {
    const usage = fromUsageMetadata({
      promptTokensDetails: [{ modality: 'TEXT', tokenCount: 10 }, { modality: 'AUDIO', tokenCount: 700 }, { modality: 'IMAGE', tokenCount: 258 }],
      toolUsePromptTokensDetails: [{ modality: 'AUDIO', tokenCount: 5 }, { modality: 'DOCUMENT', tokenCount: 40 }],
      cacheTokensDetails: [{ modality: 'AUDIO', tokenCount: 300 }, { modality: 'VIDEO', tokenCount: 1 }],
      candidatesTokensDetails: [{ modality: 'AUDIO', tokenCount: 90 }, { modality: 'IMAGE', tokenCount: 1290 }],
    });
    expect(split(usage)).toEqual({
      inputAudioTokens: 705, inputImageTokens: 258, inputVideoTokens: 0, inputDocumentTokens: 40,
      cachedAudioTokens: 300, cachedImageTokens: 0, cachedVideoTokens: 1, cachedDocumentTokens: 0,
      outputImageTokens: 1290, outputAudioTokens: 90,
    });
  });

  it('reads the Interactions API lists (lowercase modalities, `tokens`) and ignores junk entries', () => {
    const usage = fromInteractionUsage({
      input_tokens_by_modality: [{ modality: 'audio', tokens: 120 }, { modality: 'text', tokens: 3 }, null, { modality: 'audio', tokens: 'x' }],
      cached_tokens_by_modality: [{ modality: 'audio', tokens: 20 }],
      output_tokens_by_modality: [{ modality: 'image', tokens: 1120 }],
    });
    expect(split(usage)).toMatchObject({ inputAudioTokens: 120, cachedAudioTokens: 20, outputImageTokens: 1120, outputAudioTokens: 0 });
    expect(fromInteractionUsage({ total_input_tokens: 123, input_tokens_by_modality: [{ modality: 'audio', tokens: 120 }] })).toMatchObject({ promptTokens: 123, inputAudioTokens: 120 });
  });
});

describe('per-modality prices', () => {
  const book = createPriceBook();
  const at = Date.parse('2026-06-01T00:00:00Z');

  it('bills audio input (cached and not) at the audio rates and the rest at the text rates (gemini-2.5-flash)', () => {
    const p = book.priceOf('gemini-2.5-flash', at)!;
    const usage = extractUsage('generate', {
      usageMetadata: {
        promptTokenCount: 3000, cachedContentTokenCount: 1000, candidatesTokenCount: 200, totalTokenCount: 3200,
        promptTokensDetails: [{ modality: 'TEXT', tokenCount: 1000 }, { modality: 'AUDIO', tokenCount: 2000 }],
        cacheTokensDetails: [{ modality: 'AUDIO', tokenCount: 600 }, { modality: 'TEXT', tokenCount: 400 }],
      },
    }).usage!;
    // Uncached: text 1000-400 = 600, audio 2000-600 = 1400; cached: text 400, audio 600; output 200 text.
    const usd = (600 * p.input + 1400 * p.input_audio! + 400 * p.cached_input! + 600 * p.cached_input_audio! + 200 * p.output) / 1e6;
    expect(p.input_audio).toBeGreaterThan(p.input);
    expect(book.costNanoUsd({ model: 'gemini-2.5-flash', createdAt: at, usage })).toBe(Math.round(usd * 1e9));
  });

  it('bills image output at the image rate and the unlisted text output at the text rate (gemini-2.5-flash-image)', () => {
    const p = book.priceOf('gemini-2.5-flash-image', at)!;
    const segments = loadRecording(IMAGE_OUTPUT).interactions[0]!.response.bodySegments as unknown[];
    const { usage } = extractUsage('generate', segments);
    const usd = (15 * p.input + 1290 * p.output_image! + 28 * p.output) / 1e6;
    expect(book.costNanoUsd({ model: 'gemini-2.5-flash-image', createdAt: at, usage })).toBe(Math.round(usd * 1e9));
  });

  it('takes the batch discount off batch rows only', () => {
    const usage = extractUsage('generate', { usageMetadata: { promptTokenCount: 1000, candidatesTokenCount: 100, totalTokenCount: 1100 } }).usage!;
    const full = book.costNanoUsd({ model: 'gemini-2.5-flash', createdAt: at, usage, endpoint: 'generateContent' })!;
    expect(book.costNanoUsd({ model: 'gemini-2.5-flash', createdAt: at, usage, endpoint: 'batches.completed' })).toBe(Math.round(full * (1 - book.tables[0]!.batchDiscount)));
    expect(book.tables[0]!.batchDiscount).toBe(0.5);
  });
});

describe('media usage', () => {
  it('counts Imagen predictions that carry an image, and Veo seconds as requested length × finished samples', async () => {
    const { fromPredictions } = await import('../../src/metering/usage.js');
    const { finishedVideo, requestedVideoSeconds } = await import('../../src/metering/video-usage.js');
    expect(fromPredictions({ predictions: [{ bytesBase64Encoded: 'x' }, { raiFilteredReason: 'blocked' }, { gcsUri: 'gs://b/o' }] })?.images).toBe(2);
    expect(fromPredictions({})).toBeNull();
    expect(requestedVideoSeconds({ parameters: { durationSeconds: '5' } })).toBe(5);
    expect(requestedVideoSeconds({ instances: [] })).toBe(8);
    expect(finishedVideo({ name: 'x' }, 8)).toBeNull();
    const done = finishedVideo({ done: true, response: { generateVideoResponse: { generatedSamples: [{ video: { uri: 'u' } }], raiMediaFilteredCount: 1 } } }, 6);
    expect(done).toMatchObject({ ok: true, videos: 1, usage: { videoSeconds: 6 } });
    expect(finishedVideo({ done: true, error: { code: 3 } }, 6)).toMatchObject({ ok: false, usage: { videoSeconds: 0 } });
  });
});
