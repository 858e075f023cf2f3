import { describe, expect, it } from 'vitest';
import { finishedBatch, responsesFileUsage } from '../../src/metering/batch-usage.js';
import { createPriceBook } from '../../src/usage/prices.js';

const result = (p: number, c: number) => ({ response: { usageMetadata: { promptTokenCount: p, candidatesTokenCount: c, totalTokenCount: p + c } } });

describe('finishedBatch', () => {
  it('is null while the batch runs', () => {
    expect(finishedBatch({ name: 'batches/b', metadata: { state: 'BATCH_STATE_RUNNING' } })).toBeNull();
  });

  it('sums the inlined results once, reading Operation.response rather than both copies', () => {
    const output = { inlinedResponses: { inlinedResponses: [result(3, 2), result(4, 1), { error: { code: 500 } }] } };
    const done = finishedBatch({ metadata: { state: 'BATCH_STATE_SUCCEEDED', model: 'models/gemini-2.5-flash', output }, done: true, response: output });
    expect(done).toMatchObject({ state: 'BATCH_STATE_SUCCEEDED', model: 'gemini-2.5-flash' });
    expect(done!.usage).toMatchObject({ promptTokens: 7, outputTokens: 3, totalTokens: 10 });
  });

  it('a final batch whose results are in a file has no usage the gateway can read', () => {
    expect(finishedBatch({ metadata: { state: 'BATCH_STATE_SUCCEEDED', output: { responsesFile: 'files/out' } }, done: true })).toMatchObject({ usage: null, responsesFile: 'files/out' });
  });

  it('sums a responses file line by line, skipping errors, blank and torn lines', () => {
    const lines = [JSON.stringify({ key: 'a', ...result(3, 2) }), '', JSON.stringify({ key: 'b', error: { code: 499 } }), JSON.stringify({ key: 'c', ...result(4, 1) }), '{"key":"d","resp'];
    expect(responsesFileUsage(lines.join('\n'))).toMatchObject({ promptTokens: 7, outputTokens: 3, totalTokens: 10 });
    expect(responsesFileUsage(JSON.stringify({ key: 'x', error: {} }))).toBeNull();
  });

  it('keeps each result\'s modality split, so image output and audio input cost their own rates in a batch too', () => {
    // gemini-2.5-flash-image: 10 text tokens in, 1290 image tokens + 5 text tokens out, per request.
    const image = { response: { usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 1295, totalTokenCount: 1305, candidatesTokensDetails: [{ modality: 'IMAGE', tokenCount: 1290 }] } } };
    const audio = { key: 'a', response: { usageMetadata: { promptTokenCount: 400, candidatesTokenCount: 2, totalTokenCount: 402, promptTokensDetails: [{ modality: 'TEXT', tokenCount: 100 }, { modality: 'AUDIO', tokenCount: 300 }] } } };
    const output = { inlinedResponses: { inlinedResponses: [image, image] } };
    const done = finishedBatch({ metadata: { state: 'BATCH_STATE_SUCCEEDED', model: 'models/gemini-2.5-flash-image' }, done: true, response: output });
    expect(done!.usage).toMatchObject({ promptTokens: 20, outputTokens: 2590, outputImageTokens: 2580 });
    expect(responsesFileUsage([audio, audio].map((l) => JSON.stringify(l)).join('\n'))).toMatchObject({ promptTokens: 800, inputAudioTokens: 600 });
    // 20 × $0.30 + 10 × $2.50 + 2580 × $30 per 1M = 77431 µUSD; the Batch API bills half.
    const cost = createPriceBook().costNanoUsd({ model: done!.model, usage: done!.usage, createdAt: Date.parse('2026-03-01T00:00:00Z'), endpoint: 'batches.completed' });
    expect(cost).toBe(Math.round(77_431_000 * 0.5));
  });

  it('chooses the long-context tier per request, not on the prompt tokens the batch sums', () => {
    const pro = (prompt: number) => ({ response: { usageMetadata: { promptTokenCount: prompt, candidatesTokenCount: 1000, totalTokenCount: prompt + 1000 } } });
    const book = createPriceBook();
    const costOf = (results: unknown[]) => {
      const done = finishedBatch({ metadata: { state: 'BATCH_STATE_SUCCEEDED', model: 'models/gemini-2.5-pro' }, done: true, response: { inlinedResponses: { inlinedResponses: results } } });
      return book.costNanoUsd({ model: done!.model, usage: done!.usage, createdAt: Date.parse('2026-03-01T00:00:00Z'), endpoint: 'batches.completed' });
    };
    // Two 150k prompts (300k together) are both ≤200k: 2 × (150000 × $1.25 + 1000 × $10) per 1M = 395000 µUSD, billed half.
    expect(costOf([pro(150_000), pro(150_000)])).toBe(395_000_000 * 0.5);
    // One long prompt costs the long-context rates alone: 250000 × $2.50 + 1000 × $15 + 10000 × $1.25 + 1000 × $10 = 662500 µUSD.
    expect(costOf([pro(250_000), pro(10_000)])).toBe(662_500_000 * 0.5);
    const lines = [pro(150_000), pro(150_000)].map((l, i) => JSON.stringify({ key: String(i), ...l })).join('\n');
    expect(book.costNanoUsd({ model: 'gemini-2.5-pro', usage: responsesFileUsage(lines), createdAt: Date.parse('2026-03-01T00:00:00Z'), endpoint: 'batches.completed' })).toBe(395_000_000 * 0.5);
  });
});
