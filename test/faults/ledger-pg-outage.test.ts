import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migratePostgres, openPostgres, type PgDb } from '../../src/db/postgres.js';
import type { LedgerSink } from '../../src/ledger/batch.js';
import { createLedger, type Ledger } from '../../src/ledger/ledger.js';
import { createPgSink } from '../../src/ledger/pg-sink.js';
import { createLogger } from '../../src/logger.js';
import type { UsageRow } from '../../src/metering/row.js';
import { accountInserts } from '../support/ledger-batches.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from '../support/postgres.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

const PASSWORD = 'outage-pw-9f3c';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const row = (i: number): UsageRow => ({
  createdAt: Date.now(), requestId: `r${i}`, tenantId: 'ten_a', projectId: 'prj_a1', keyId: 'key_a1x', upstreamKeyId: null,
  method: 'POST', apiVersion: 'v1beta', endpoint: 'generateContent', model: 'gemini-2.5-flash', stream: 0, status: 200, outcome: 'ok',
  usage: { promptTokens: 3, cachedTokens: 0, outputTokens: 4, thoughtsTokens: 0, toolUsePromptTokens: 0, totalTokens: 7, json: '{}' },
  ttfbMs: 5, latencyMs: 10, bytesIn: 1, bytesOut: 2,
});

/**
 * The "an outage loses nothing": the ledger over the Postgres sink keeps taking rows while
 * the database is unreachable (a TCP relay between pool and server is cut: open connections reset,
 * new ones refused), buffers them up to USAGE_MAX_PENDING_ROWS, and stores every one exactly once
 * when the database is back, including a batch whose COMMIT succeeded but whose reply was lost.
 */
describe.runIf(postgresAvailable)('ledger on Postgres through an outage', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let conn: PgDb;
  let ledger: Ledger | undefined;
  const lines: string[] = [];
  const log = createLogger('debug', { write: (s: string) => void lines.push(s) });
  /** What each write returned: a replayed batch that had committed returns fewer new rows than it holds. */
  const writes: Array<{ rows: number; fresh: number }> = [];

  beforeEach(async () => {
    db = await createTestDatabase();
    await migratePostgres({ url: db.url, connectTimeoutMs: 5000 });
    proxy = await startTcpProxy({ host: new URL(db.url).hostname, port: Number(new URL(db.url).port || 5432) });
    const u = new URL(proxy.via(db.url));
    u.password = PASSWORD; // the test server trusts local users: the password is never checked, only carried
    conn = await openPostgres({ url: u.toString(), poolMax: 4, statementTimeoutMs: 2000, connectTimeoutMs: 1000, onError: (m) => log.warn(m) });
    for (const q of accountInserts()) await conn.$client.query(q);
    const pgSink = createPgSink({ pool: conn.$client, url: u.toString(), timeoutMs: 1000 });
    const sink: LedgerSink = {
      async write(batch) {
        const fresh = await pgSink.write(batch);
        writes.push({ rows: batch.rows.length, fresh });
        return fresh;
      },
      close: () => pgSink.close(),
    };
    ledger = createLedger({ sink, log, flushIntervalMs: 20, batchSize: 200, maxPending: 2000 });
  });
  afterEach(async () => {
    await ledger?.close();
    await conn?.$client.end();
    await proxy?.close();
    await db?.drop();
    lines.length = 0;
    writes.length = 0;
  });

  it('buffers through 5 s of refused connections, refuses new work past the bound (METERING_FAILURE=closed), then stores every row exactly once', async () => {
    const recorded: string[] = [];
    let refused = 0;
    let sawSaturated = false;
    let maxPending = 0;
    let i = 0;
    // Requests arrive at ~1000 rows/s; with METERING_FAILURE=closed the route turns them away
    // (503) while the ledger is saturated, exactly as proxy/route.ts does.
    const produce = async (ms: number) => {
      const until = Date.now() + ms;
      while (Date.now() < until) {
        for (let k = 0; k < 10; k++) {
          if (ledger!.saturated()) {
            sawSaturated = true;
            refused++;
            continue;
          }
          const r = row(i++);
          ledger!.record(r);
          recorded.push(r.rowKey!);
        }
        maxPending = Math.max(maxPending, ledger!.pending());
        await sleep(10);
      }
    };

    await produce(1000);
    const commitLost = proxy.loseReplyTo('COMMIT');
    await produce(500);
    await commitLost;
    await produce(300);
    await proxy.cut();
    const down = Date.now();
    await produce(5000);
    expect(ledger!.pending()).toBeGreaterThan(0);
    await proxy.restore();
    const outageMs = Date.now() - down;
    await produce(1000);
    const deadline = Date.now() + 20_000;
    while (ledger!.pending() > 0 && Date.now() < deadline) await sleep(20);
    expect(ledger!.pending()).toBe(0);
    expect(ledger!.saturated()).toBe(false);

    expect(outageMs).toBeGreaterThanOrEqual(5000);
    expect(sawSaturated).toBe(true);
    expect(refused).toBeGreaterThan(0);
    expect(maxPending).toBeLessThanOrEqual(2000 + 10);

    const q = async (sql: string) => (await conn.$client.query(sql)).rows[0] as Record<string, number>;
    expect(await q('SELECT count(*)::int AS n, count(DISTINCT row_key)::int AS d FROM usage_events')).toEqual({ n: recorded.length, d: recorded.length });
    const stored = new Set((await conn.$client.query('SELECT row_key FROM usage_events')).rows.map((r: { row_key: string }) => r.row_key));
    expect(recorded.every((k) => stored.has(k))).toBe(true);
    expect(await q('SELECT sum(requests)::int AS n, sum(total_tokens)::int AS t FROM usage_rollups_daily')).toEqual({ n: recorded.length, t: 7 * recorded.length });
    expect(await q("SELECT sum(requests)::int AS n FROM quota_counters WHERE dimension = 'project' AND window_kind = 'day'")).toEqual({ n: recorded.length });

    // The batch whose COMMIT reply was lost had committed: sent again, it added nothing.
    expect(writes.some((w) => w.fresh < w.rows)).toBe(true);
    const all = lines.join('');
    expect(all).toContain('usage write failed; rows kept for retry');
    expect(all).toContain('usage rows are piling up in memory');
    expect(all).toContain('usage writer recovered');
    expect(all).toMatch(/ECONNREFUSED|Connection terminated/);
    expect(all).not.toContain(PASSWORD);
  }, 60_000);

  it('gives up on a database that stops answering (a stalled network) instead of waiting forever, then stores every row once', async () => {
    const recorded: string[] = [];
    const record = (n: number) => {
      for (let k = 0; k < n; k++) {
        const r = row(recorded.length);
        ledger!.record(r);
        recorded.push(r.rowKey!);
      }
    };
    record(300);
    await ledger!.flush();
    // Nothing is refused or reset: bytes simply stop moving, so only a client-side timeout ends an attempt.
    proxy.freeze();
    record(300);
    const started = Date.now();
    expect(await ledger!.flush()).toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
    record(300);
    await sleep(1500);
    proxy.thaw();
    const deadline = Date.now() + 20_000;
    while (ledger!.pending() > 0 && Date.now() < deadline) await sleep(20);
    expect(ledger!.pending()).toBe(0);
    const q = async (sql: string) => (await conn.$client.query(sql)).rows[0] as Record<string, number>;
    expect(await q('SELECT count(*)::int AS n, count(DISTINCT row_key)::int AS d FROM usage_events')).toEqual({ n: 900, d: 900 });
    expect(await q('SELECT sum(requests)::int AS n FROM usage_rollups_hourly')).toEqual({ n: 900 });
    expect(lines.join('')).toContain('usage write failed; rows kept for retry');
  }, 60_000);

  it('with METERING_FAILURE=open keeps every row past the bound and stores them all once the database is back', async () => {
    // Open: the route keeps admitting while the ledger is saturated, so rows pile up past maxPending.
    await proxy.cut();
    const keys: string[] = [];
    for (let n = 0; n < 3000; n++) {
      const r = row(n);
      ledger!.record(r);
      keys.push(r.rowKey!);
      if (n % 500 === 0) await sleep(50);
    }
    await sleep(500);
    expect(ledger!.pending()).toBe(3000);
    expect(ledger!.saturated()).toBe(true);
    await proxy.restore();
    const deadline = Date.now() + 20_000;
    while (ledger!.pending() > 0 && Date.now() < deadline) await sleep(20);
    expect(ledger!.saturated()).toBe(false);
    const stored = (await conn.$client.query('SELECT row_key FROM usage_events')).rows.map((r: { row_key: string }) => r.row_key);
    expect(stored.sort()).toEqual(keys.sort());
    expect(lines.join('')).toContain('usage rows are piling up in memory');
  }, 60_000);
});
