import { describe, expect, it } from 'vitest';
import { finishedBatch, responsesFileUsage } from '../../src/metering/batch-usage.js';

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
});
