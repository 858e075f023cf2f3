/**
 * Usage-query benchmark: N synthetic events (default 5 million, 12 months, 50 projects) written
 * through the real recorder and rollup hook, then the two dashboard queries from the issue timed
 * end to end through the admin API (routing, rollup SQL, JSON), never scanning raw events.
 * Both backends by default: SQLite in test/bench/results, Postgres in a fresh database on
 * TEST_DATABASE_URL (seeded through the Postgres ledger sink, dropped afterwards).
 *
 *   npm run bench:usage                                     # 5,000,000 events, both backends
 *   npm run bench:usage -- --events 200000                  # quick look
 *   npm run bench:usage -- --backend postgres --events 200000
 *   npm run bench:usage -- --backend sqlite --reuse         # keep the SQLite database from the last run
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { createKeyFor } from '../../src/accounts/issue-key.js';
import { parseConfig } from '../../src/config.js';
import { openDb, type Db } from '../../src/db/client.js';
import { query } from '../../src/db/dialect.js';
import { openStore } from '../../src/db/store.js';
import type { LedgerSink } from '../../src/ledger/batch.js';
import { createPgSink } from '../../src/ledger/pg-sink.js';
import type pg from 'pg';
import { createTestDatabase, probePostgres, shownUrl, TEST_DATABASE_URL } from '../support/postgres-server.js';
import { createGateway } from '../../src/gateway.js';
import { createLogger } from '../../src/logger.js';
import { createLedger } from '../../src/ledger/ledger.js';
import { createInlineSink } from '../../src/ledger/inline-sink.js';
import type { Outcome, UsageRow } from '../../src/metering/row.js';
import { createPriceBook } from '../../src/usage/prices.js';
import { addUnit, DAY_MS, floorTo } from '../../src/calendar.js';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '5000000' },
    runs: { type: 'string', default: '50' },
    reuse: { type: 'boolean', default: false },
    backend: { type: 'string', default: 'both' },
    // Internal: the fresh process that times the queries of one seeded database.
    measure: { type: 'string' },
  },
});
type Backend = 'sqlite' | 'postgres';
const EVENTS = Number(args.events);
const RUNS = Number(args.runs);
const DIR = 'test/bench/results';
const DB_PATH = `${DIR}/usage-bench.db`;
const TOKEN = 'bench-admin-token-0123456789';
const END = floorTo('hour', Date.now());
const START = END - 365 * DAY_MS;
const MODELS = ['gemini-2.5-flash', 'gemini-2.5-pro', 'gemini-2.5-flash-lite', 'gemini-2.0-flash', 'gemini-3-pro-preview', 'in-house-tuned'];
const ENDPOINTS = ['generateContent', 'streamGenerateContent', 'interactions.create', 'batchEmbedContents', 'countTokens'];

/** Deterministic PRNG so runs are comparable. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Key { id: string; projectId: string; tenantId: string }

/** Opens the database to seed: SQLite at DB_PATH (recreated), or Postgres at `url` (migrated by openStore). */
async function openForSeed(backend: Backend, url?: string): Promise<{ db: Db; sink: LedgerSink; done(): Promise<void> }> {
  if (backend === 'sqlite') {
    rmSync(DB_PATH, { force: true });
    rmSync(`${DB_PATH}-wal`, { force: true });
    const db = openDb(DB_PATH);
    db.$client.pragma('cache_size = -262144');
    return { db, sink: createInlineSink(db.$client), done: async () => { db.$client.pragma('optimize'); db.$client.close(); } };
  }
  // No statement timeout: ANALYZE of a large seed takes longer than a request may.
  const store = await openStore(parseConfig({ DATABASE_URL: url!, LOG_LEVEL: 'silent', PG_STATEMENT_TIMEOUT_MS: '3600000' }));
  const pool = store.db.$client as unknown as pg.Pool;
  return { db: store.db, sink: createPgSink({ pool, url }), done: async () => { await pool.query('ANALYZE'); await store.close(); } };
}

async function seed(backend: Backend, url?: string): Promise<{ writeMs: number }> {
  const { db, sink, done } = await openForSeed(backend, url);
  const clock = { now: () => START };
  const keys: Key[][] = [];
  for (let p = 0; p < 50; p++) {
    const project: Key[] = [];
    for (let k = 0; k < 3; k++) {
      const created = await createKeyFor(db, clock, { tenant: `team-${p % 10}`, project: `project-${p}` });
      const [row] = await query<Key>(db, 'SELECT k.id, k.project_id AS "projectId", p.tenant_id AS "tenantId" FROM api_keys k JOIN projects p ON p.id = k.project_id WHERE k.id = ?', [created.id]);
      project.push(row!);
    }
    keys.push(project);
  }
  const prices = createPriceBook();
  // The ledger's own transaction (rows, rollups, counters) on this thread: this bench times the queries, not the writer.
  const recorder = createLedger({ sink, log: createLogger('silent'), flushIntervalMs: 3_600_000, batchSize: 5000, cost: (r) => prices.costNanoUsd(r) });
  const r = rng(42);
  const started = performance.now();
  for (let i = 0; i < EVENTS; i++) {
    // Zipf-like: project 0 is the busiest, as real tenants are.
    const p = Math.min(49, Math.floor(50 * r() ** 2.2));
    const k = Math.floor(r() * 3);
    const key = keys[p]![k]!;
    // Each key mostly calls one model and one endpoint, as an application does; the rest is spread thin.
    const model = MODELS[(p + k + (r() < 0.9 ? 0 : 1 + Math.floor(r() * 2))) % MODELS.length]!;
    const endpoint = ENDPOINTS[r() < 0.9 ? (p + k) % 2 : Math.floor(r() * ENDPOINTS.length)]!;
    const x = r();
    const outcome: Outcome = x < 0.97 ? 'ok' : x < 0.99 ? 'upstream_error' : x < 0.997 ? 'client_aborted' : 'upstream_aborted';
    const prompt = 200 + Math.floor(r() * 4000);
    const output = Math.floor(r() * 1500);
    const row: UsageRow = {
      createdAt: START + Math.floor((i / EVENTS) * (END - START)), requestId: `bench-${i}`, tenantId: key.tenantId, projectId: key.projectId, keyId: key.id,
      upstreamKeyId: null, method: 'POST', apiVersion: 'v1beta', endpoint, model, stream: endpoint === 'streamGenerateContent' ? 1 : 0,
      status: outcome === 'ok' ? 200 : 503, outcome,
      usage: outcome === 'upstream_error' || endpoint === 'countTokens' ? null : { promptTokens: prompt, cachedTokens: Math.floor(prompt * r() * 0.3), outputTokens: output, thoughtsTokens: Math.floor(output * r() * 0.5), toolUsePromptTokens: 0, totalTokens: prompt + output, json: '{}' },
      ttfbMs: 50 + Math.floor(r() * 800), latencyMs: 100 + Math.floor(r() * 9000), bytesIn: 800, bytesOut: 2000,
    };
    recorder.record(row);
    if (recorder.pending() >= 5000) await recorder.flush();
    if (i % 500_000 === 0 && i) process.stderr.write(`  ${i.toLocaleString()} events…\n`);
  }
  await recorder.close();
  const writeMs = performance.now() - started;
  await done();
  return { writeMs };
}

function stats(ms: number[]) {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return { median: q(0.5), p95: q(0.95), min: s[0]!, max: s.at(-1)! };
}

async function main() {
  mkdirSync(DIR, { recursive: true });
  if (args.measure) return measure(args.measure as Backend, process.env.BENCH_DATABASE_URL);
  const backends: Backend[] = args.backend === 'both' ? ['sqlite', 'postgres'] : [args.backend as Backend];
  if (!backends.every((b) => b === 'sqlite' || b === 'postgres')) throw new Error(`--backend must be sqlite, postgres or both, not ${args.backend}`);
  let failed = 0;
  for (const backend of backends) {
    process.stdout.write(`\n## ${backend === 'sqlite' ? 'SQLite' : 'Postgres'}\n\n`);
    let url: string | undefined;
    let drop = async () => {};
    if (backend === 'postgres') {
      const probe = await probePostgres();
      if (!probe.ok) throw new Error(`Postgres at ${shownUrl()} did not answer (${probe.reason}); set TEST_DATABASE_URL or pass --backend sqlite`);
      const tdb = await createTestDatabase();
      url = tdb.url;
      drop = tdb.drop;
      process.stdout.write(`Fresh database ${tdb.name} on ${shownUrl(TEST_DATABASE_URL)}.\n`);
    }
    try {
      if (backend === 'postgres' || !(args.reuse && existsSync(DB_PATH))) {
        const { writeMs } = await seed(backend, url);
        const rate = Math.round(EVENTS / (writeMs / 1000)).toLocaleString();
        process.stdout.write(`Wrote ${EVENTS.toLocaleString()} events through the recorder with rollups in ${(writeMs / 1000).toFixed(1)} s (${rate} rows/s, batches of 5,000).\n\n`);
      }
      // Measure in a fresh process, so the seeding's garbage is not collected during the timed queries.
      const child = spawnSync(process.execPath, [...process.execArgv, process.argv[1]!, '--runs', String(RUNS), '--measure', backend], { stdio: 'inherit', env: { ...process.env, ...(url ? { BENCH_DATABASE_URL: url } : {}) } });
      if (child.status !== 0) failed++;
    } finally {
      await drop();
    }
  }
  process.exit(failed ? 1 : 0);
}

async function measure(backend: Backend, url?: string) {
  const config = parseConfig({ DATABASE_PATH: DB_PATH, ...(backend === 'postgres' ? { DATABASE_URL: url! } : {}), ADMIN_TOKEN: TOKEN, LOG_LEVEL: 'silent', USAGE_MAX_RANGE_DAYS: '400' });
  // SQLite: this process's connection; Postgres: the gateway opens its pool from DATABASE_URL, as main.ts does.
  const sqlite = backend === 'sqlite' ? openDb(DB_PATH) : undefined;
  const gateway = await createGateway({ config, log: createLogger('silent'), db: sqlite, clock: { now: () => END } });
  const db = gateway.deps.db;
  const [counts] = await query<Record<string, number>>(db,
    'SELECT (SELECT count(*) FROM usage_events) AS events, (SELECT count(*) FROM usage_rollups_hourly) AS hourly, (SELECT count(*) FROM usage_rollups_daily) AS daily, (SELECT count(*) FROM usage_rollups_monthly) AS monthly');
  const [top] = await query<{ project_id: string }>(db, 'SELECT project_id FROM usage_rollups_monthly GROUP BY project_id ORDER BY sum(requests) DESC LIMIT 1');
  const busiest = top!.project_id;
  const iso = (ms: number) => new Date(ms).toISOString();
  const today = floorTo('day', END);
  const thisMonth = floorTo('month', END);
  let twelveBack = thisMonth;
  for (let i = 0; i < 11; i++) twelveBack = floorTo('month', twelveBack - 1);
  const queries = [
    { name: '30 days, one project, by day and model', target: 50, path: `/admin/v1/usage?project=${busiest}&groupBy=day,model&from=${iso(today - 29 * DAY_MS)}&to=${iso(today + DAY_MS)}` },
    { name: '12 months, all projects, by month', target: 200, path: `/admin/v1/usage?groupBy=month&from=${iso(twelveBack)}&to=${iso(addUnit('month', thisMonth))}` },
    { name: '12 months, all projects, by month and project', target: 200, path: `/admin/v1/usage?groupBy=month,project&from=${iso(twelveBack)}&to=${iso(addUnit('month', thisMonth))}` },
  ];
  // Bounds inside an hour: whole hours from rollups, the partial hours at either edge from raw events.
  const minute = 60_000;
  queries.push(
    { name: 'last 90 minutes (minute bounds), all projects, by project', target: 50, path: `/admin/v1/usage?groupBy=project&from=${iso(END - 90 * minute + 17 * minute)}&to=${iso(END + 17 * minute)}` },
    { name: '30 days (minute bounds), one project, by day and model', target: 50, path: `/admin/v1/usage?project=${busiest}&groupBy=day,model&from=${iso(today - 29 * DAY_MS + 10 * minute)}&to=${iso(today + DAY_MS - 50 * minute)}` },
  );
  // What /dashboard asks for on first load (30 days, stacked by project, top projects table, prices), in parallel as the page does.
  const month = `from=${iso(today - 29 * DAY_MS)}&to=${iso(today + DAY_MS)}`;
  queries.push({ name: 'dashboard first load: 3 calls, 30 days, 50 projects', target: 1000, path: [`/admin/v1/usage?${month}&groupBy=day,tenant,project`, `/admin/v1/usage?${month}&groupBy=tenant,project`, '/admin/v1/usage/unpriced-models'].join(' ') });
  const get = async (path: string) => {
    const res = await gateway.app.request(path, { headers: { authorization: `Bearer ${TOKEN}` } });
    const body = (await res.json()) as { groups?: unknown[] };
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${JSON.stringify(body)}`);
    return body.groups?.length ?? 0;
  };
  const results = [];
  for (const q of queries) {
    const timings: number[] = [];
    let groups = 0;
    for (let i = 0; i < RUNS + 5; i++) {
      const t0 = performance.now();
      groups = (await Promise.all(q.path.split(' ').map(get))).reduce((a, b) => a + b, 0);
      const ms = performance.now() - t0;
      if (i >= 5) timings.push(ms);
    }
    results.push({ ...q, groups, ...stats(timings) });
  }
  await gateway.shutdown(0);
  sqlite?.$client.close();

  // The target is judged on the median; p95 and max show how much a busy machine spreads it.
  const rows = results.map((r) => `| ${r.name} | ${r.groups} | ${r.median.toFixed(1)} | ${r.p95.toFixed(1)} | ${r.max.toFixed(1)} | < ${r.target} | ${r.median < r.target ? 'met' : 'MISSED'} |`);
  const table = [
    `${backend === 'sqlite' ? 'SQLite' : 'Postgres'}: usage queries over ${counts!.events!.toLocaleString()} events (rollup rows: ${counts!.hourly!.toLocaleString()} hourly, ${counts!.daily!.toLocaleString()} daily, ${counts!.monthly!.toLocaleString()} monthly), ${RUNS} runs after 5 warm-ups, through the admin API in-process:`,
    '',
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, load average ${loadavg().map((l) => l.toFixed(1)).join(' / ')} when the queries ran.`,
    '',
    '| query | groups | median ms | p95 ms | max ms | target (median) | |',
    '| --- | ---: | ---: | ---: | ---: | --- | --- |',
    ...rows,
  ].join('\n');
  process.stdout.write(`${table}\n`);
  writeFileSync(`${DIR}/usage-queries${backend === 'sqlite' ? '' : '-postgres'}.json`, JSON.stringify({ at: new Date().toISOString(), backend, counts, results }, null, 2));
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
