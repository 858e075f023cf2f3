import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../../src/db/client.js';
import type { LedgerBatch } from '../../src/ledger/batch.js';
import { createLedger, type Ledger } from '../../src/ledger/ledger.js';
import { createSqliteSink, type SqliteSink } from '../../src/ledger/sqlite-sink.js';
import { createLogger } from '../../src/logger.js';
import type { UsageRow } from '../../src/metering/row.js';

const row = (i: number): UsageRow => ({
  createdAt: 1_700_000_000_000 + i, requestId: `r${i}`, tenantId: 't', projectId: 'p', keyId: 'k', upstreamKeyId: null,
  method: 'POST', apiVersion: 'v1beta', endpoint: 'generateContent', model: 'm', stream: 0, status: 200, outcome: 'ok',
  usage: { promptTokens: i, cachedTokens: 0, outputTokens: 1, thoughtsTokens: 0, toolUsePromptTokens: 0, totalTokens: i + 1, json: '{}' },
  ttfbMs: 1, latencyMs: 2, bytesIn: 3, bytesOut: 4, rowKey: `key-${i}`,
});

describe('ledger with the SQLite worker sink', () => {
  let dir: string;
  let db: Db;
  let ledger: Ledger | undefined;
  const logs: string[] = [];
  const log = createLogger('debug', { write: (s: string) => void logs.push(s) });

  afterEach(async () => {
    await ledger?.close();
    ledger = undefined;
    db.$client.close();
    rmSync(dir, { recursive: true, force: true });
    logs.length = 0;
  });

  function setup(opts: { flushIntervalMs?: number; batchSize?: number } = {}): { sink: SqliteSink; ledger: Ledger } {
    dir = mkdtempSync(join(tmpdir(), 'ggw-ledger-'));
    db = openDb(join(dir, 'g.db'), { busyTimeoutMs: 0 });
    const sink = createSqliteSink({ path: db.$client.name, log });
    ledger = createLedger({ sink, log, flushIntervalMs: opts.flushIntervalMs ?? 1000, batchSize: opts.batchSize ?? 1000 });
    return { sink, ledger };
  }
  const count = () => db.$client.prepare('SELECT count(*) n, sum(total_tokens) t FROM usage_events').get() as { n: number; t: number };
  const hourlyRequests = () => db.$client.prepare('SELECT coalesce(sum(requests), 0) FROM usage_rollups_hourly').pluck().get() as number;
  const counterRequests = () =>
    db.$client.prepare("SELECT coalesce(sum(requests), 0) FROM quota_counters WHERE dimension = 'project' AND window_kind = 'month'").pluck().get() as number;

  it('writes queued rows in one transaction on its own connection, rollups and counters with them', async () => {
    const { ledger } = setup();
    for (let i = 0; i < 250; i++) ledger.record(row(i));
    expect(ledger.pending()).toBe(250);
    expect(await ledger.flush()).toBe(250);
    expect(ledger.pending()).toBe(0);
    expect(count()).toEqual({ n: 250, t: (249 * 250) / 2 + 250 });
    expect(hourlyRequests()).toBe(250);
    expect(counterRequests()).toBe(250);
  });

  it('keeps rows queued when the database refuses the write and writes them once it can', async () => {
    const { sink, ledger } = setup();
    await sink.pragma('query_only = ON');
    ledger.record(row(1));
    ledger.record(row(2));
    expect(await ledger.flush()).toBe(0);
    expect(ledger.pending()).toBe(2);
    expect(count().n).toBe(0);
    await sink.pragma('query_only = OFF');
    ledger.record(row(3));
    expect(await ledger.close()).toBe(3);
    expect(db.$client.prepare('SELECT request_id FROM usage_events ORDER BY id').pluck().all()).toEqual(['r1', 'r2', 'r3']);
  });

  it('flushes on its own shortly after rows arrive', async () => {
    const { ledger } = setup({ flushIntervalMs: 5 });
    ledger.record(row(1));
    const until = Date.now() + 10_000;
    while (ledger.pending() > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    expect(ledger.pending()).toBe(0);
    expect(count().n).toBe(1);
  });

  it('is idempotent on row keys: a batch written twice adds its rows, rollups and counters once', async () => {
    const { sink } = setup();
    const batch: LedgerBatch = { rows: [row(1), row(2)], keyTouches: [], resourceOps: [], now: Date.now() };
    expect(await sink.write(batch)).toBe(2);
    expect(await sink.write({ ...batch, rows: [row(2), row(3)] })).toBe(1);
    expect(count().n).toBe(3);
    expect(hourlyRequests()).toBe(3);
    expect(counterRequests()).toBe(3);
  });

  it('restarts a worker that died and writes its batch again: every row once, nothing lost', async () => {
    const { sink, ledger } = setup({ flushIntervalMs: 5, batchSize: 50 });
    let killed = 0;
    for (let i = 0; i < 1000; i++) {
      ledger.record(row(i));
      if (i % 100 === 99) {
        // Kill the thread whichever state it is in: idle, mid-transaction or between commit and reply.
        const w = sink.worker();
        if (w) {
          await w.terminate();
          killed++;
        }
        await new Promise((r) => setTimeout(r, 2));
      }
    }
    expect(killed).toBeGreaterThan(0);
    await ledger.close();
    expect(count()).toEqual({ n: 1000, t: (999 * 1000) / 2 + 1000 });
    expect(hourlyRequests()).toBe(1000);
    expect(counterRequests()).toBe(1000);
    expect(logs.some((l) => l.includes('usage writer thread restarted'))).toBe(true);
    expect(logs.some((l) => l.includes('unwrittenUsageRows'))).toBe(false);
  });
});

describe('ledger batching', () => {
  it('sends a partial batch on the interval, not as soon as the previous write returns', async () => {
    // A sink whose writes finish when the test says: rows that arrive during a write must wait for
    // the next interval tick (batches as small as one write's turnaround cost a message and a COMMIT each).
    const sizes: number[] = [];
    let finish: (() => void) | null = null;
    const sink = {
      write: (b: LedgerBatch) => new Promise<number>((resolve) => {
        sizes.push(b.rows.length);
        finish = () => resolve(b.rows.length);
      }),
      close: async () => {},
    };
    const log = createLogger('silent', { write: () => {} });
    const ledger = createLedger({ sink, log, flushIntervalMs: 200, batchSize: 3 });
    ledger.record(row(1));
    await new Promise((r) => setTimeout(r, 260));
    expect(sizes).toEqual([1]);
    ledger.record(row(2)); // arrives while the first write is under way
    finish!();
    await new Promise((r) => setTimeout(r, 50));
    expect(sizes).toEqual([1]);
    await new Promise((r) => setTimeout(r, 250));
    expect(sizes).toEqual([1, 1]);
    // A full batch waiting when a write returns goes at once.
    for (let i = 3; i < 10; i++) ledger.record(row(i));
    finish!();
    await new Promise((r) => setTimeout(r, 20));
    expect(sizes).toEqual([1, 1, 3]);
    finish!();
    await new Promise((r) => setTimeout(r, 20));
    expect(sizes).toEqual([1, 1, 3, 3]);
    finish!();
    await new Promise((r) => setTimeout(r, 20));
    expect(sizes.length).toBe(4); // one row left: it waits for the interval
    const closing = ledger.close();
    await new Promise((r) => setTimeout(r, 20));
    finish!();
    await closing;
    expect(sizes).toEqual([1, 1, 3, 3, 1]);
  });
});
