import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LATENCY_BOUNDS_MS } from '../../src/db/schema/latency-buckets.js';
import { rebuildRollups } from '../../src/usage/rebuild.js';
import { USAGE_COUNT_COLUMNS } from '../../src/db/schema/usage-counts.js';
import { startHarness, type Harness } from '../support/harness.js';
import { ADMIN_TOKEN, getJson, seedKey, type SeedKey } from '../support/usage-seed.js';

/*
 * A mixed workload through the real gateway — unary, streams, interactions, upstream errors, an
 * upstream that dies mid-stream, a client that hangs up — with the clock stepping 20 minutes per
 * request across hour, day and month boundaries. Afterwards every rollup grain must equal the
 * same aggregate computed from the raw rows, column by column, histogram bucket by bucket.
 */
let now = Date.parse('2026-01-31T22:50:00Z');
const START = now;
let h: Harness;
let keys: SeedKey[];
let release: () => void = () => {};
const held = new Promise<void>((r) => (release = r));

beforeAll(async () => {
  h = await startHarness({
    env: { ADMIN_TOKEN },
    clock: { now: () => now },
    fake: {
      beforeFrame: async (i, req) => {
        if (req.url.includes('die-midway') && i === 2) throw new Error('upstream died');
        if (req.url.includes('slow-stream') && i >= 1) await held;
      },
    },
  });
  keys = [await seedKey(h, 'acme', 'web'), await seedKey(h, 'acme', 'web'), await seedKey(h, 'globex', 'app')];
  let recorded = 0;
  const step = async (fn: () => Promise<unknown>) => {
    await fn().catch(() => undefined);
    recorded++;
    await h.waitForRows(recorded);
    now += 20 * 60_000;
  };
  const drain = async (it: AsyncIterable<unknown>) => {
    for await (const _ of it) void _;
  };
  for (const key of keys) {
    const ai = h.sdk(key.key);
    await step(() => ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi' }));
    await step(async () => drain(await ai.models.generateContentStream({ model: 'gemini-2.5-pro', contents: 'hi' })));
    await step(async () => drain(await ai.models.generateContentStream({ model: 'google-reasoning-gemini3', contents: 'hi' })));
    await step(async () => drain(await ai.models.generateContentStream({ model: 'image-output', contents: 'draw' })));
    await step(() => ai.models.generateContent({ model: 'rate-limited', contents: 'x' }));
    await step(async () => drain(await ai.models.generateContentStream({ model: 'stream-error', contents: 'x' })));
    await step(async () => drain(await ai.models.generateContentStream({ model: 'die-midway', contents: 'x' })));
    await step(async () => drain(await ai.interactions.create({ model: 'basic', input: 'hi', stream: true })));
    await step(() => ai.interactions.create({ model: 'basic', input: 'hi' }));
    await step(() => ai.models.countTokens({ model: 'gemini-2.5-flash', contents: 'hi' }));
    await step(() => ai.models.embedContent({ model: 'gemini-embedding-001', contents: ['a', 'b'] }));
    await step(async () => {
      const ac = new AbortController();
      const res = await fetch(`${h.url}/v1beta/models/slow-stream:streamGenerateContent?alt=sse`, {
        method: 'POST', headers: { 'x-goog-api-key': key.key, 'content-type': 'application/json' }, body: '{"contents":[]}', signal: ac.signal,
      });
      await res.body!.getReader().read();
      ac.abort();
    });
  }
  release();
});
afterAll(async () => h.close());

const histogramCase = (col: string) =>
  `CASE ${LATENCY_BOUNDS_MS.map((b, i) => `WHEN ${col} <= ${b} THEN ${i}`).join(' ')} ELSE ${LATENCY_BOUNDS_MS.length} END`;
const BUCKET_EXPR = {
  h: 'created_at - created_at % 3600000',
  d: 'created_at - created_at % 86400000',
  m: "CAST(strftime('%s', created_at / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000",
};

const KEYS = { h: 'project_id, key_id, model, endpoint, outcome', d: 'project_id, key_id, model, endpoint', m: 'project_id, model, endpoint' };
const TABLE = { h: 'usage_rollups_hourly', d: 'usage_rollups_daily', m: 'usage_rollups_monthly' };

/** The rollup a grain should hold, computed from the raw rows by SQL written independently of the rollup code. */
function rawAggregates(grain: 'h' | 'd' | 'm') {
  const keys = KEYS[grain].replace('model', "coalesce(model, '') AS model");
  return h.db.$client.prepare(`
    SELECT ${BUCKET_EXPR[grain]} AS bucket_start, tenant_id, ${keys},
      count(*) AS requests, sum(outcome NOT IN ('ok', 'client_aborted')) AS errors, sum(outcome = 'client_aborted') AS aborted,
      coalesce(sum(prompt_tokens), 0) AS prompt_tokens, coalesce(sum(cached_tokens), 0) AS cached_tokens,
      coalesce(sum(output_tokens), 0) AS output_tokens, coalesce(sum(thoughts_tokens), 0) AS thoughts_tokens,
      coalesce(sum(tool_use_prompt_tokens), 0) AS tool_use_prompt_tokens, coalesce(sum(total_tokens), 0) AS total_tokens,
      coalesce(sum(cache_storage_tokens), 0) AS cache_storage_tokens,
      ${USAGE_COUNT_COLUMNS.map((c) => `coalesce(sum(${c}), 0) AS ${c}`).join(', ')},
      coalesce(sum(cost_nano_usd), 0) AS cost_nano_usd, sum(total_tokens IS NOT NULL AND cost_nano_usd IS NULL) AS unpriced_requests,
      sum(latency_ms) AS latency_sum_ms, max(latency_ms) AS latency_max_ms, coalesce(max(ttfb_ms), 0) AS ttfb_max_ms,
      json_group_array(${histogramCase('latency_ms')}) AS lat, json_group_array(${histogramCase('ttfb_ms')}) FILTER (WHERE ttfb_ms IS NOT NULL) AS ttfb
    FROM usage_events GROUP BY bucket_start, ${KEYS[grain]} ORDER BY bucket_start, ${KEYS[grain]}`).all() as Record<string, unknown>[];
}

/** Rollup rows in the raw query's shape: histogram columns folded back into bucket-index lists. */
function rollups(grain: 'h' | 'd' | 'm') {
  const rows = h.db.$client.prepare(`SELECT * FROM ${TABLE[grain]} ORDER BY bucket_start, ${KEYS[grain]}`).all() as Record<string, number | string>[];
  return rows.map((r) => {
    const indexes = (prefix: string) => Array.from({ length: LATENCY_BOUNDS_MS.length + 1 }, (_, i) => Array(Number(r[`${prefix}_${i}`])).fill(i)).flat();
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(r)) if (!/^(lat|ttfb)_\d+$/.test(k)) out[k] = v;
    return { ...out, lat: indexes('lat'), ttfb: indexes('ttfb') };
  });
}

describe('rollups after a mixed workload through the gateway', () => {
  it('covered streams, aborts and errors across hour, day and month boundaries', () => {
    const outcomes = h.db.$client.prepare('SELECT outcome, count(*) AS n FROM usage_events GROUP BY outcome').all() as { outcome: string; n: number }[];
    expect(Object.fromEntries(outcomes.map((o) => [o.outcome, o.n]))).toMatchObject({ ok: expect.any(Number), upstream_error: 6, upstream_aborted: 3, client_aborted: 3 });
    const months = h.db.$client.prepare("SELECT count(DISTINCT strftime('%Y-%m', created_at / 1000, 'unixepoch')) FROM usage_events").pluck().get();
    expect(months).toBe(2);
    expect(h.db.$client.prepare('SELECT count(*) FROM usage_events WHERE cost_nano_usd > 0').pluck().get()).toBeGreaterThanOrEqual(6);
    expect(h.db.$client.prepare('SELECT sum(output_image_tokens) FROM usage_events').pluck().get()).toBe(3 * 1290);
  });

  it.each(['h', 'd', 'm'] as const)('grain %s equals the raw-event aggregate exactly', (grain) => {
    const raw = rawAggregates(grain).map((r) => ({
      ...r,
      lat: (JSON.parse(r.lat as string) as number[]).sort((a, b) => a - b),
      ttfb: r.ttfb === null ? [] : (JSON.parse(r.ttfb as string) as number[]).sort((a, b) => a - b),
    }));
    expect(raw.length).toBeGreaterThan(grain === 'm' ? 2 : 8);
    expect(rollups(grain)).toEqual(raw);
  });

  it('usage rebuild recomputes the same rollups and prices rows that had no cost', async () => {
    const before = (['h', 'd', 'm'] as const).map(rollups);
    const priced = h.db.$client.prepare("SELECT id, cost_nano_usd FROM usage_events WHERE model = 'gemini-2.5-flash' AND cost_nano_usd > 0 LIMIT 1").get() as { id: number; cost_nano_usd: number };
    h.db.$client.prepare('UPDATE usage_events SET cost_nano_usd = NULL WHERE id = ?').run(priced.id);
    const result = rebuildRollups(h.db, h.gateway.deps.prices);
    expect(result).toEqual({ events: (await h.rows()).length, priced: 1 });
    expect(h.db.$client.prepare('SELECT cost_nano_usd FROM usage_events WHERE id = ?').pluck().get(priced.id)).toBe(priced.cost_nano_usd);
    expect((['h', 'd', 'm'] as const).map(rollups)).toEqual(before);
  });

  it('the API over the whole range reports the raw totals', async () => {
    const raw = h.db.$client.prepare('SELECT count(*) AS requests, sum(total_tokens) AS tokens, sum(cost_nano_usd) AS cost FROM usage_events').get() as { requests: number; tokens: number; cost: number };
    const hour = (ms: number) => new Date(Math.floor(ms / 3_600_000) * 3_600_000).toISOString();
    const { body } = await getJson(h, `/admin/v1/usage?from=${hour(START)}&to=${hour(now + 3_600_000)}`);
    expect(body.totals).toMatchObject({ requests: raw.requests, totalTokens: raw.tokens, estimatedCostUsd: raw.cost / 1e9 });
  });
});
