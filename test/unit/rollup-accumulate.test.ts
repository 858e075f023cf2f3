import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Outcome, UsageRow } from '../../src/metering/row.js';
import { accumulate } from '../../src/usage/rollups.js';

// Few distinct values, so that batches hold runs of rows sharing every rollup key (the reuse path)
// broken by rows that differ in one key or cross an hour, day or month boundary.
const HOUR = 3_600_000;
const EDGE = Date.UTC(2026, 0, 31, 23); // the last hour of a day and of a month
const row: fc.Arbitrary<UsageRow> = fc
  .record({
    project: fc.constantFrom('p1', 'p2'),
    keyId: fc.constantFrom('k1', 'k2'),
    model: fc.constantFrom<string | null>('m1', 'm2', '', null),
    endpoint: fc.constantFrom('generateContent', 'streamGenerateContent'),
    outcome: fc.constantFrom<Outcome>('ok', 'client_aborted', 'upstream_error', 'token_expired'),
    at: fc.integer({ min: EDGE - HOUR, max: EDGE + 2 * HOUR }),
    tokens: fc.option(fc.record({ prompt: fc.nat(1000), output: fc.nat(1000), image: fc.nat(50) }), { nil: null }),
    latencyMs: fc.nat(100_000),
    ttfbMs: fc.option(fc.nat(100_000), { nil: null }),
    cost: fc.option(fc.nat(10_000), { nil: null }),
  })
  .map((r) => ({
    createdAt: r.at, requestId: 'r', tenantId: `t-${r.project}`, projectId: r.project, keyId: r.keyId, upstreamKeyId: null,
    method: 'POST', apiVersion: 'v1beta', endpoint: r.endpoint, model: r.model, stream: 0, status: 200, outcome: r.outcome,
    usage: r.tokens && {
      promptTokens: r.tokens.prompt, cachedTokens: 0, outputTokens: r.tokens.output, thoughtsTokens: 0, toolUsePromptTokens: 0,
      totalTokens: r.tokens.prompt + r.tokens.output, outputImageTokens: r.tokens.image, json: '{}',
    },
    ttfbMs: r.ttfbMs, latencyMs: r.latencyMs, bytesIn: 0, bytesOut: 0, costNanoUsd: r.cost,
  }));

/** The rows folded one at a time, each into accumulators of its own, then merged by accumulator id. */
function oneByOne(rows: UsageRow[]) {
  const out = new Map<string, { grain: string; keys: unknown[]; sums: number[]; maxes: number[] }>();
  for (const r of rows) {
    for (const [id, a] of accumulate([r])) {
      const m = out.get(id);
      if (!m) out.set(id, { ...a, sums: [...a.sums], maxes: [...a.maxes] });
      else {
        a.sums.forEach((v, i) => (m.sums[i]! += v));
        a.maxes.forEach((v, i) => (m.maxes[i] = Math.max(m.maxes[i]!, v)));
      }
    }
  }
  return out;
}

describe('rollup accumulation', () => {
  it('folds a batch exactly as it folds its rows one at a time, whatever runs of shared keys the batch holds', () => {
    fc.assert(
      fc.property(fc.array(row, { maxLength: 60 }), (rows) => {
        expect(new Map([...accumulate(rows)].map(([id, a]) => [id, { ...a }]))).toEqual(oneByOne(rows));
      }),
      { numRuns: 300 },
    );
  });
});
