import { describe, expect, it } from 'vitest';
import { CounterStore } from '../../src/quota/counters.js';
import { afterReserving, measureAll, type AppliedRule } from '../../src/quota/evaluate.js';
import { limitRuleSchema } from '../../src/quota/policy.js';
import { rateLimitHeaders } from '../../src/quota/refusal.js';
import { compileRule } from '../../src/quota/rule-limits.js';
import { WINDOW_KINDS } from '../../src/quota/windows.js';

const NOW = Date.parse('2026-02-14T10:20:30.500Z');
const rules = [
  { requestsPerMinute: 60, tokensPerMinute: 9_000, tokensPerDay: 500_000, tokensPerMonth: 9_000_000, maxConcurrent: 4 },
  { keyId: 'key_a', requestsPerMinute: 30, tokensPerDay: 1_000 },
  { model: 'models/gemini-2.5-pro', requestsPerMinute: 10, maxConcurrent: 2, tokensPerMinute: 700 },
].map((r) => compileRule(limitRuleSchema.parse(r)));

function applied(store: CounterStore): AppliedRule[] {
  return rules.map((c) => ({ ...c, bucket: store.get('prj_1', c.dim, c.value, NOW) }));
}

describe('quota measures', () => {
  it('after reserving equals measuring again once the reservation is in the buckets', () => {
    const store = new CounterStore();
    const before = applied(store);
    // Traffic already counted, so that no remaining is at its limit or at zero by accident.
    before.forEach((a, i) => {
      for (const kind of WINDOW_KINDS) Object.assign(a.bucket.windows[kind], { tokens: 100 * (i + 1), requests: i + 2 });
      a.bucket.held = 50 * i;
      a.bucket.inFlight = i;
    });
    const estimate = 321;
    const predicted = afterReserving(measureAll(before, NOW), estimate);
    // What admission does to the lease's buckets (quotas.ts reserve()).
    for (const a of before) {
      a.bucket.held += estimate;
      a.bucket.inFlight++;
      for (const kind of WINDOW_KINDS) a.bucket.windows[kind].requests++;
    }
    const measured = measureAll(applied(store), NOW);
    expect(predicted.map(({ rule: _r, ...m }) => m)).toEqual(measured.map(({ rule: _r, ...m }) => m));
    expect(rateLimitHeaders(predicted, NOW)).toEqual(rateLimitHeaders(measured, NOW));
  });

  it('headers name every limit with its window, quoted once when the rule is compiled', () => {
    const headers = rateLimitHeaders(measureAll(applied(new CounterStore()), NOW), NOW);
    expect(headers['ratelimit-policy']).toBe(
      '"rpm";q=60;w=60, "tpm";q=9000;qu="tokens";w=60, "tpd";q=500000;qu="tokens";w=86400, "tpmo";q=9000000;qu="tokens";w=2419200, ' +
        '"concurrency";q=4;qu="concurrent-requests", "key/rpm";q=30;w=60, "key/tpd";q=1000;qu="tokens";w=86400, ' +
        '"model/gemini-2.5-pro/rpm";q=10;w=60, "model/gemini-2.5-pro/tpm";q=700;qu="tokens";w=60, "model/gemini-2.5-pro/concurrency";q=2;qu="concurrent-requests"',
    );
    expect(headers.ratelimit!.split(', ')[0]).toBe('"rpm";r=60;t=30');
    expect(headers.ratelimit!.split(', ')[4]).toBe('"concurrency";r=4');
  });

  it('a model name that is not printable ASCII or holds a quote is escaped, never breaks the field', () => {
    const c = compileRule(limitRuleSchema.parse({ model: 'tuned"\\é', requestsPerMinute: 1 }));
    expect(c.limits[0]!.quoted).toBe('"model/tuned\\"\\\\?/rpm"');
  });
});
