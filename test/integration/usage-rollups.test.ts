import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LATENCY_BOUNDS_MS } from '../../src/db/schema/latency-buckets.js';
import { runCli } from '../../src/cli/run.js';
import { usageCommands } from '../../src/cli/usage.js';
import { execute } from '../../src/db/dialect.js';
import { rebuildUsageRollups } from '../../src/ledger/rebuild-rollups.js';
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
/** Per histogram bucket, how many rows fall into it: the rollup's lat_i / ttfb_i columns, computed independently. */
const histogramCounts = (col: string, prefix: string) =>
  Array.from({ length: LATENCY_BOUNDS_MS.length + 1 }, (_, i) => `sum(CASE WHEN ${col} IS NOT NULL AND ${histogramCase(col)} = ${i} THEN 1 ELSE 0 END) AS ${prefix}_${i}`).join(', ');
// Only the calendar month needs each dialect's date functions; the rest of the SQL is neutral.
const MONTH_EXPR = {
  sqlite: "CAST(strftime('%s', created_at / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000",
  postgres: "CAST(extract(epoch FROM date_trunc('month', to_timestamp(created_at / 1000.0) AT TIME ZONE 'UTC')) AS bigint) * 1000",
};
const bucketExpr = (grain: 'h' | 'd' | 'm') =>
  grain === 'h' ? 'created_at - created_at % 3600000' : grain === 'd' ? 'created_at - created_at % 86400000' : MONTH_EXPR[h.backend];

const KEYS = { h: 'project_id, key_id, model, endpoint, outcome', d: 'project_id, key_id, model, endpoint', m: 'project_id, model, endpoint' };
const TABLE = { h: 'usage_rollups_hourly', d: 'usage_rollups_daily', m: 'usage_rollups_monthly' };
const flag = (cond: string) => `sum(CASE WHEN ${cond} THEN 1 ELSE 0 END)`;

/** The rollup a grain should hold, computed from the raw rows by SQL written independently of the rollup code. */
function rawAggregates(grain: 'h' | 'd' | 'm') {
  const keys = KEYS[grain].replace('model', "coalesce(model, '') AS model");
  return h.query(`
    SELECT ${bucketExpr(grain)} AS bucket_start, tenant_id, ${keys},
      count(*) AS requests, ${flag("outcome NOT IN ('ok', 'client_aborted', 'token_expired')")} AS errors, ${flag("outcome = 'client_aborted'")} AS aborted,
      coalesce(sum(prompt_tokens), 0) AS prompt_tokens, coalesce(sum(cached_tokens), 0) AS cached_tokens,
      coalesce(sum(output_tokens), 0) AS output_tokens, coalesce(sum(thoughts_tokens), 0) AS thoughts_tokens,
      coalesce(sum(tool_use_prompt_tokens), 0) AS tool_use_prompt_tokens, coalesce(sum(total_tokens), 0) AS total_tokens,
      coalesce(sum(cache_storage_tokens), 0) AS cache_storage_tokens,
      ${USAGE_COUNT_COLUMNS.map((c) => `coalesce(sum(${c}), 0) AS ${c}`).join(', ')},
      coalesce(sum(cost_nano_usd), 0) AS cost_nano_usd, ${flag('total_tokens IS NOT NULL AND cost_nano_usd IS NULL')} AS unpriced_requests,
      sum(latency_ms) AS latency_sum_ms, max(latency_ms) AS latency_max_ms, coalesce(max(ttfb_ms), 0) AS ttfb_max_ms,
      ${histogramCounts('latency_ms', 'lat')}, ${histogramCounts('ttfb_ms', 'ttfb')}
    FROM usage_events GROUP BY 1, tenant_id, ${KEYS[grain]} ORDER BY 1, ${KEYS[grain]}`);
}

/** The rollup rows of a grain, in the raw query's order. */
const rollups = (grain: 'h' | 'd' | 'm') => h.query(`SELECT * FROM ${TABLE[grain]} ORDER BY bucket_start, ${KEYS[grain]}`);

describe('rollups after a mixed workload through the gateway', () => {
  it('covered streams, aborts and errors across hour, day and month boundaries', async () => {
    const outcomes = await h.query<{ outcome: string; n: number }>('SELECT outcome, count(*) AS n FROM usage_events GROUP BY outcome');
    expect(Object.fromEntries(outcomes.map((o) => [o.outcome, o.n]))).toMatchObject({ ok: expect.any(Number), upstream_error: 6, upstream_aborted: 3, client_aborted: 3 });
    expect(await h.scalar(`SELECT count(DISTINCT ${bucketExpr('m')}) FROM usage_events`)).toBe(2);
    expect(await h.scalar('SELECT count(*) FROM usage_events WHERE cost_nano_usd > 0')).toBeGreaterThanOrEqual(6);
    expect(await h.scalar('SELECT sum(output_image_tokens) FROM usage_events')).toBe(3 * 1290);
  });

  it.each(['h', 'd', 'm'] as const)('grain %s equals the raw-event aggregate exactly', async (grain) => {
    const raw = await rawAggregates(grain);
    expect(raw.length).toBeGreaterThan(grain === 'm' ? 2 : 8);
    // Not vacuous: the histograms hold every row, and TTFB only the rows that had a first byte.
    expect(raw.reduce((n, r) => n + LATENCY_BOUNDS_MS.reduce((m, _, i) => m + Number(r[`lat_${i}`]), Number(r[`lat_${LATENCY_BOUNDS_MS.length}`])), 0)).toBe(await h.scalar('SELECT count(*) FROM usage_events'));
    expect(await rollups(grain)).toEqual(raw);
  });

  it('usage rebuild recomputes the same rollups and prices rows that had no cost', async () => {
    const before = await Promise.all((['h', 'd', 'm'] as const).map(rollups));
    const [priced] = await h.query<{ id: number; cost_nano_usd: number }>("SELECT id, cost_nano_usd FROM usage_events WHERE model = 'gemini-2.5-flash' AND cost_nano_usd > 0 LIMIT 1");
    await execute(h.db, 'UPDATE usage_events SET cost_nano_usd = NULL WHERE id = ?', [priced!.id]);
    const result = await rebuildUsageRollups(h.db, h.gateway.deps.prices);
    expect(result).toEqual({ events: (await h.rows()).length, priced: 1 });
    expect(await h.scalar('SELECT cost_nano_usd FROM usage_events WHERE id = ?', [priced!.id])).toBe(priced!.cost_nano_usd);
    expect(await Promise.all((['h', 'd', 'm'] as const).map(rollups))).toEqual(before);
  });

  it('`gemini-gateway usage rebuild` runs on either backend and leaves the rollups as they were', async () => {
    const before = await Promise.all((['h', 'd', 'm'] as const).map(rollups));
    let out = '';
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => ((out += chunk), true)) as typeof process.stdout.write;
    try {
      expect(await runCli(usageCommands, ['usage', 'rebuild'], { config: () => h.config })).toBe(0);
    } finally {
      process.stdout.write = write;
    }
    expect(out).toBe(`rebuilt rollups from ${(await h.rows()).length} events; priced 0 that had no cost\n`);
    expect(await Promise.all((['h', 'd', 'm'] as const).map(rollups))).toEqual(before);
  });

  it('usage rebuild while the gateway records requests counts each request once', async () => {
    // A project with no rollup rows yet: its batches take no row lock the rebuild holds, so only the table lock orders them.
    const ai = h.sdk((await seedKey(h, 'initech', 'fresh')).key);
    const before = (await h.rows()).length;
    let sent = 0;
    const traffic = (async () => {
      for (; sent < 30; sent++) await ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'during rebuild' });
    })();
    // Rebuilds back to back while the ledger commits batches every few ms: a batch landing inside a rebuild must count once.
    // One event per read: the rebuild spans many round trips, so batches do land inside it (on Postgres
    // without the table lock this fails: a batch committed mid-rebuild was counted by the ledger and the rebuild).
    while (sent < 30) {
      await rebuildUsageRollups(h.db, h.gateway.deps.prices, 1);
      // SQLite's rebuild is synchronous: let the requests and the ledger's worker move between two.
      await new Promise((r) => setTimeout(r, 1));
    }
    await traffic;
    await h.waitForRows(before + 30);
    for (const grain of ['h', 'd', 'm'] as const) expect(await rollups(grain)).toEqual(await rawAggregates(grain));
  });

  it('the API over the whole range reports the raw totals', async () => {
    const [raw] = await h.query<{ requests: number; tokens: number; cost: number }>('SELECT count(*) AS requests, sum(total_tokens) AS tokens, sum(cost_nano_usd) AS cost FROM usage_events');
    const hour = (ms: number) => new Date(Math.floor(ms / 3_600_000) * 3_600_000).toISOString();
    const { body } = await getJson(h, `/admin/v1/usage?from=${hour(START)}&to=${hour(now + 3_600_000)}`);
    expect(body.totals).toMatchObject({ requests: raw!.requests, totalTokens: raw!.tokens, estimatedCostUsd: raw!.cost / 1e9 });
  });
});
