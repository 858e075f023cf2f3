// Usage-writer throughput in isolation (own process; run.ts pins it to the peer CPU).
//   npm run bench:writer -- [--backend sqlite|postgres|both] [--rows N] [--batch 500] [--interval 50]
// Postgres: a fresh database on TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres), dropped after.
// Prints one JSON line per backend. Exit 0 = measured and every row landed; 1 = rows missing (correctness);
// 2 = the writer could not be loaded or no Postgres answers (run.ts reports the figure as n/a).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import type { WriterBackend, WriterUnderTest, WriterConfig } from './writer-adapter.js';
import { probePostgres, shownUrl } from '../support/postgres-server.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i === -1 ? undefined : Number(process.argv[i + 1]);
  return v !== undefined && Number.isFinite(v) && v > 0 ? v : def;
}

const ROWS = arg('rows', 100_000);
const cfg: WriterConfig = { batchSize: arg('batch', 500), flushIntervalMs: arg('interval', 50) };
const bi = process.argv.lastIndexOf('--backend'); // the last one: npm run bench:writer -- --backend postgres overrides the script's
const BACKEND = (bi === -1 ? 'sqlite' : process.argv[bi + 1]) as WriterBackend | 'both';
if (!['sqlite', 'postgres', 'both'].includes(BACKEND)) throw new Error(`--backend ${BACKEND}: sqlite, postgres or both`);
const SLICE = 250; // rows recorded per event-loop turn, like a burst of finished requests

function out(obj: Record<string, unknown>, code: number): never {
  process.stdout.write(JSON.stringify(obj) + '\n');
  process.exit(code);
}

let create: (backend: WriterBackend, dbPath: string, cfg: WriterConfig) => Promise<WriterUnderTest>;
try {
  ({ createWriterUnderTest: create } = await import('./writer-adapter.js'));
} catch (err) {
  out({ error: `cannot load the usage writer: ${(err as Error).message.split('\n')[0]}` }, 2);
}

/** CPU time of this process's main thread (tid = pid on Linux), in ms; 10 ms resolution. */
function mainThreadCpuMs(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

async function measure(backend: WriterBackend, dir: string): Promise<[Record<string, unknown>, number]> {
  // 1. As in the server: rows arrive a slice per event-loop turn; the recorder batches on its own
  //    (batch-size trigger or flush timer). Measured until every row is committed.
  let w = await create(backend, path.join(dir, 'interleaved.db'), cfg);
  const main0 = mainThreadCpuMs();
  const t0 = performance.now();
  for (let i = 0; i < ROWS; ) {
    const end = Math.min(ROWS, i + SLICE);
    for (; i < end; i++) w.record(i);
    await tick();
  }
  // Waiting on the writer, not polling it, so the event-loop thread's CPU is the writer's alone.
  await w.flush();
  const deadline = Date.now() + 60_000;
  while (w.pending() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
  const interleavedMs = performance.now() - t0;
  const mainCpuMs = mainThreadCpuMs() - main0;
  const interleavedRows = await w.countRows();
  await w.close();

  // 2. Raw: queue everything, then flush in batch-sized transactions; gives the cost of one batch,
  //    i.e. how long one flush blocks the gateway's event loop.
  w = await create(backend, path.join(dir, 'bulk.db'), { ...cfg, flushIntervalMs: 3_600_000 });
  let bulkMs = 0;
  let batches = 0;
  for (let i = 0; i < ROWS; ) {
    const end = Math.min(ROWS, i + cfg.batchSize);
    for (; i < end; i++) w.record(i);
    const b0 = performance.now();
    await w.flush();
    bulkMs += performance.now() - b0;
    batches++;
  }
  const bulkRows = await w.countRows();
  await w.close();

  const result = {
    backend,
    rows: ROWS,
    batchSize: cfg.batchSize,
    flushIntervalMs: cfg.flushIntervalMs,
    rowsPerSec: ROWS / (interleavedMs / 1000),
    interleavedMs,
    // CPU the event-loop thread spent while recording and writing the interleaved rows: what the
    // writer costs a gateway's request path (a writer thread's own CPU is not counted).
    mainThreadCpuUsPerRow: (mainCpuMs * 1000) / ROWS,
    bulkRowsPerSec: ROWS / (bulkMs / 1000),
    msPerBatch: bulkMs / batches,
    rowsWritten: interleavedRows,
    bulkRowsWritten: bulkRows,
  };
  if (interleavedRows !== ROWS || bulkRows !== ROWS) {
    return [{ ...result, error: `rows written ${interleavedRows}/${bulkRows}, expected ${ROWS}` }, 1];
  }
  return [result, 0];
}

/** One backend's line; Postgres is n/a (exit 2) when no server answers. */
async function one(backend: WriterBackend): Promise<[Record<string, unknown>, number]> {
  if (backend === 'postgres') {
    const probe = await probePostgres();
    if (!probe.ok) return [{ backend, error: `no Postgres at ${shownUrl()}: ${probe.reason}` }, 2];
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-writer-'));
  try {
    return await measure(backend, dir);
  } catch (err) {
    return [{ backend, error: `writer failed: ${(err as Error).message}` }, 1];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const backends: WriterBackend[] = BACKEND === 'both' ? ['sqlite', 'postgres'] : [BACKEND];
let code = 0;
for (const b of backends) {
  const [line, c] = await one(b);
  process.stdout.write(JSON.stringify(line) + '\n');
  code = code === 1 || c === 1 ? 1 : Math.max(code, c); // a correctness failure outranks n/a
}
process.exit(code);
