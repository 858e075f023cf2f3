// The usage database busy or broken: another process holding locks must not stall proxying, and a
// database that refuses writes is handled as METERING_FAILURE says — never by dropping rows.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { createGateway } from '../../src/gateway.js';
import { createLogger } from '../../src/logger.js';
import { startHarness, type Harness } from '../support/harness.js';
import { rawRequest } from '../support/raw-http.js';
import type { SqliteSink } from '../../src/ledger/sqlite-sink.js';

let h: Harness | undefined;
let locker: ChildProcess | undefined;
afterEach(async () => {
  locker?.kill('SIGKILL');
  locker = undefined;
  await h?.close();
  h = undefined;
});

const LOCKER = `
const Database = require('better-sqlite3');
const db = new Database(process.env.LOCK_DB);
if (process.env.LOCK_MODE === 'write') db.exec('BEGIN IMMEDIATE');
else { db.exec('BEGIN'); db.prepare('SELECT count(*) FROM usage_events').get(); }
process.stdout.write('locked\\n');
const release = () => { if (!db.open) return; db.exec('COMMIT'); db.close(); process.stdout.write('released\\n'); };
process.stdin.once('data', release);
// A lock released on the locker's own clock: the gateway under test may be blocked waiting for it.
if (process.env.LOCK_HOLD_MS) setTimeout(release, Number(process.env.LOCK_HOLD_MS));
`;

/** Another process holding a write lock (BEGIN IMMEDIATE) or a long read transaction on the file. */
async function holdLock(dbPath: string, mode: 'write' | 'read', holdMs?: number) {
  const env = { ...process.env, LOCK_DB: dbPath, LOCK_MODE: mode, ...(holdMs ? { LOCK_HOLD_MS: String(holdMs) } : {}) };
  const child = spawn(process.execPath, ['-e', LOCKER], { cwd: process.cwd(), env, stdio: ['pipe', 'pipe', 'inherit'] });
  locker = child;
  const said = (word: string) => new Promise<void>((r) => child.stdout!.on('data', (d: Buffer) => d.toString().includes(word) && r()));
  await said('locked');
  return { release: async () => { child.stdin!.write('go\n'); await said('released'); } };
}

async function generate(h: Harness, key: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const stream = i % 2 === 1;
    const path = stream ? '/v1beta/models/google-text:streamGenerateContent?alt=sse' : '/v1beta/models/google-text:generateContent';
    const res = await rawRequest(h.url + path, { headers: { 'x-goog-api-key': key, 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(200);
    ids.push(res.headers['x-gateway-request-id'] as string);
  }
  return ids;
}

/** The usage writer's own connection (a worker thread): where a read-only or full database must be felt. */
const writer = (h: Harness) => h.gateway.deps.recorder.sink as SqliteSink;

const count = (h: Harness) => h.db.$client.prepare('SELECT count(*) FROM usage_events').pluck().get() as number;

describe('SQLite held by another process', () => {
  it('a write lock elsewhere never stalls proxying or the event loop; rows wait in memory and land once it is released', async () => {
    h = await startHarness();
    const key = (await h.createKey()).key;
    const lock = await holdLock(h.dbPath, 'write');
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const ids = await generate(h, key, 12);
    loop.disable();
    // With a busy timeout each flush attempt would block the loop for seconds; with 0 it never waits.
    expect(loop.max / 1e6).toBeLessThan(1000);
    expect(h.gateway.deps.recorder.pending()).toBe(12);
    expect(count(h)).toBe(0);
    expect(h.logs.some((l) => l.includes('usage write failed; rows kept for retry') && l.includes('"level":"error"'))).toBe(true);

    await lock.release();
    await h.waitForRows(12, 15_000);
    const rows = (await h.rows());
    expect(rows.map((r) => r.request_id).sort()).toEqual([...ids].sort());
    expect(h.logs.some((l) => l.includes('usage writer recovered'))).toBe(true);
  });

  it('a long read transaction elsewhere does not block writes (WAL)', async () => {
    h = await startHarness();
    const key = (await h.createKey()).key;
    const lock = await holdLock(h.dbPath, 'read');
    const ids = await generate(h, key, 6);
    const rows = await h.waitForRows(6);
    expect(rows.map((r) => r.request_id).sort()).toEqual([...ids].sort());
    await lock.release();
  });

  it('usage waits on nothing (the writer thread uses busy_timeout 0); the server connection waits DATABASE_BUSY_TIMEOUT_MS', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ggw-busy-'));
    try {
      const config = parseConfig({ PORT: '0', DATABASE_PATH: join(dir, 'g.db'), LOG_LEVEL: 'silent', DATABASE_BUSY_TIMEOUT_MS: '750' });
      const gateway = await createGateway({ config, log: createLogger('silent') });
      expect(gateway.deps.db.$client.pragma('busy_timeout', { simple: true })).toBe(750);
      expect(config.USAGE_WRITER_BUSY_TIMEOUT_MS).toBe(0);
      await gateway.shutdown(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an admin write that meets a short write lock (as the writer thread holds one per batch) waits for it instead of failing', async () => {
    h = await startHarness({ env: { ADMIN_TOKEN: 'admin-token-for-contention-test' } });
    // The gateway runs in this process and its write blocks it while it waits, so the locker lets go on its own timer.
    await holdLock(h.dbPath, 'write', 150);
    const created = await h.admin('POST', '/admin/v1/tenants', { slug: 'busy-team' });
    expect(created.status).toBe(201);
    expect(created.body.slug).toBe('busy-team');
  });
});

describe('a database that cannot be written', () => {
  it('METERING_FAILURE=closed (default): once the buffer of unwritten rows is full new requests get 503; every buffered row is written on recovery', async () => {
    h = await startHarness({ env: { USAGE_MAX_PENDING_ROWS: '5' } });
    expect(h.config.METERING_FAILURE).toBe('closed');
    const key = (await h.createKey()).key;
    await writer(h).pragma('query_only = ON'); // the gateway's writer connection now behaves like a read-only file
    const ids = await generate(h, key, 5);
    const refused = await rawRequest(`${h.url}/v1beta/models/google-text:generateContent`, { headers: { 'x-goog-api-key': key }, body: '{}' });
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('5');
    expect(JSON.parse(refused.body.toString()).error).toMatchObject({ code: 503, status: 'UNAVAILABLE' });
    expect(h.fake.requests).toHaveLength(5);
    expect(h.logs.some((l) => l.includes('usage rows are piling up in memory') && l.includes('"level":"error"'))).toBe(true);
    // Not ready meanwhile, so a balancer sends requests to a replica that can record them.
    const notReady = await rawRequest(`${h.url}/readyz`, { method: 'GET' });
    expect(notReady.status).toBe(503);
    expect(JSON.parse(notReady.body.toString())).toEqual({ status: 'unready', reasons: ['usage rows cannot be written (the database refuses writes) and METERING_FAILURE=closed'] });

    await writer(h).pragma('query_only = OFF');
    const rows = await h.waitForRows(5, 15_000);
    expect(JSON.parse((await rawRequest(`${h.url}/readyz`, { method: 'GET' })).body.toString())).toEqual({ status: 'ready' });
    expect(rows.map((r) => r.request_id).sort()).toEqual([...ids].sort());
    expect((await rawRequest(`${h.url}/v1beta/models/google-text:generateContent`, { headers: { 'x-goog-api-key': key }, body: '{}' })).status).toBe(200);
  });

  it('METERING_FAILURE=open: a full disk does not stop serving; it is logged loudly and no row is lost', async () => {
    h = await startHarness({ env: { METERING_FAILURE: 'open', USAGE_MAX_PENDING_ROWS: '3' } });
    const key = (await h.createKey()).key;
    const sql = h.db.$client;
    // A genuinely full database: cap its size at what it has, then fill the last free pages.
    sql.exec('CREATE TABLE filler (x BLOB)');
    const pages = sql.pragma('page_count', { simple: true }) as number;
    sql.pragma(`max_page_count = ${pages}`);
    await writer(h).pragma(`max_page_count = ${pages}`);
    const fill = sql.prepare('INSERT INTO filler VALUES (randomblob(512))');
    expect(() => {
      for (;;) fill.run();
    }).toThrow(/full/);

    // The first rows still fit in the table's partly empty pages; the rest need pages there are none of.
    const ids = await generate(h, key, 40);
    expect(h.gateway.deps.recorder.pending()).toBeGreaterThan(3);
    expect(count(h) + h.gateway.deps.recorder.pending()).toBe(40);
    expect(h.logs.some((l) => l.includes('database or disk is full'))).toBe(true);
    expect(h.logs.some((l) => l.includes('usage rows are piling up in memory') && l.includes('"level":"error"'))).toBe(true);

    sql.pragma('max_page_count = 1073741823');
    await writer(h).pragma('max_page_count = 1073741823');
    const rows = await h.waitForRows(40, 15_000);
    expect(rows.map((r) => r.request_id).sort()).toEqual([...ids].sort());
  });

  it('rows still unwritable at shutdown are logged whole instead of vanishing', async () => {
    h = await startHarness({ env: { METERING_FAILURE: 'open' } });
    const key = (await h.createKey()).key;
    await writer(h).pragma('query_only = ON');
    const ids = await generate(h, key, 3);
    const harness = h;
    h = undefined;
    await harness.close();
    const dumped = harness.logs.filter((l) => l.includes('usage rows could not be written; recorded here instead'));
    expect(dumped).toHaveLength(1);
    const rows = (JSON.parse(dumped[0]!) as { unwrittenUsageRows: Array<{ requestId: string; usage: unknown }> }).unwrittenUsageRows;
    expect(rows.map((r) => r.requestId).sort()).toEqual([...ids].sort());
    expect(rows.every((r) => r.usage !== null)).toBe(true);
  });
});
