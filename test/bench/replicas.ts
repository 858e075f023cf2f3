// npm run bench:replicas [-- --backend=postgres|sqlite] [--rounds=N] [--seconds=S] [--no-limits] [--shared-redis] [--rate=R] [--baseline=DIST_MAIN[,DIST_MAIN…]]
// What shared state costs on this machine: one gateway alone (local counters), one gateway with
// REDIS_URL, and GATEWAY_WORKERS=2 with REDIS_URL, each on a database of its own, measured round by
// round in turn (so a noisy neighbour hits all three alike). Per variant: c=1 p50 of unary
// generateContent, and CPU per request at c=1 and c=8 summed over the gateway's processes (the
// primary and its workers, read from /proc). The project has a limit, so every request is admitted
// and settled through the quota path (Redis scripts when shared). Markdown on stdout, progress on stderr.
import { Agent, request } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createKeyFor } from '../../src/accounts/issue-key.js';
import { systemClock } from '../../src/clock.js';
import { parseConfig } from '../../src/config.js';
import { query } from '../../src/db/dialect.js';
import { openStore } from '../../src/db/store.js';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { startFakeUpstream } from '../support/fake-upstream.js';
import { createTestDatabase, probePostgres } from '../support/postgres-server.js';
import { dropPrefix, probeRedis, testPrefix, TEST_REDIS_URL } from '../support/redis-server.js';
import { PIN, freePort, pinSelf, pinned, start, unbuilt } from './procs.js';
import { percentile } from './stats.js';

const argv = process.argv.slice(2);
const opt = (n: string): string | undefined => argv.find((a) => a.startsWith(`--${n}=`))?.slice(n.length + 3);
const ROUNDS = Number(opt('rounds') ?? 3);
const SECONDS = Number(opt('seconds') ?? 4);
const LIMITS = !argv.includes('--no-limits');
// The paced phase's request rate: below every variant's c=8 capacity here, so all serve the same load.
const RATE = Number(opt('rate') ?? 800);
// Extra node flags for the gateways (a profile: --node-args="--cpu-prof --cpu-prof-dir=/tmp/prof"); --only=N[,M] keeps those variants (0-based).
const NODE_ARGS = (opt('node-args') ?? '').split(' ').filter(Boolean);
const ONLY = opt('only');
// As `npm run bench` pins: the gateway (every worker) on CPU 0, this process (load and fake upstream) on CPU 1.
const GATEWAY_CPU = 0;
const LOAD_CPU = 1;
// Our own (the test harness's module needs vitest's runner).
const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';
const UPSTREAM_KEY = 'test-FAKE-bench-upstream-key-0123456789';
const log = (msg: string): void => void process.stderr.write(`[bench:replicas] ${msg}\n`);
const GATEWAY_MAIN = join(process.cwd(), 'dist/main.js');
// Other builds' dist/main.js, comma-separated: each adds "1 process + Redis (baseline N)", for an A/B in one run (variants 3, 4, …).
const BASELINES = (opt('baseline') ?? '').split(',').filter(Boolean);

/**
 * A Redis server of the bench's own, pinned to the load CPU as `npm run bench` pins every party but
 * the gateway. Left floating, the kernel wakes Redis on the gateway's CPU when a command arrives, and
 * the gateway's own CPU per request grew by half again with it (2026-12-04: c=1 1.81× and c=8 2.29×
 * the process without Redis, against 1.31× and 1.59× with Redis on CPU 1, same host, 5 rounds each).
 * `--shared-redis`, or no redis-server on PATH: the one at TEST_REDIS_URL, unpinned.
 */
async function ownRedis(): Promise<{ url: string; shown: string; stop(): Promise<unknown> }> {
  const none = { url: TEST_REDIS_URL, shown: 'the shared one, not pinned', stop: async () => {} };
  if (argv.includes('--shared-redis') || spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status !== 0) return none;
  const port = await freePort();
  const proc = start({ name: 'redis', cmd: 'redis-server', args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], cpu: PIN ? LOAD_CPU : undefined });
  const url = `redis://127.0.0.1:${port}`;
  for (const end = Date.now() + 10_000; !(await probeRedis(url, 500)).ok; ) {
    if (Date.now() > end || proc.child.exitCode !== null) throw new Error(`redis-server did not start: ${proc.output().slice(-500)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, shown: PIN ? `its own, on CPU ${LOAD_CPU}` : 'its own, not pinned', stop: () => proc.stop() };
}

/** utime + stime in ms of a process and its direct children (a cluster primary's workers). */
function cpuMs(pid: number, withChildren = true): number {
  const ticks = (p: number): number => {
    try {
      // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
      const rest = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return Number(rest[11]) + Number(rest[12]);
    } catch {
      return 0; // exited between listing and reading
    }
  };
  let children: number[] = [];
  if (withChildren) try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    /* no CONFIG_PROC_CHILDREN: the primary alone */
  }
  // USER_HZ is 100 on every Linux this runs on.
  return [pid, ...children].reduce((n, p) => n + ticks(p), 0) * 10;
}

interface Variant {
  name: string;
  /** The gateway's entry point, when not this tree's build. */
  main?: string;
  env: Record<string, string>;
  workers: number;
  gateway?: ChildProcess;
  key?: string;
  url?: string;
  c1: number[];
  c1Cpu: number[];
  c8Cpu: number[];
  c8Rps: number[];
  /** CPU per request at RATE req/s on 8 connections: the same work per second for every variant. */
  pacedCpu: number[];
  idle: number[];
  /** The cluster primary's own share of the c=8 CPU. */
  primaryShare: number[];
}

/** Until /healthz answers 200 on `workers` distinct connections' worth of tries (every worker listening). */
async function healthy(url: string, workers: number): Promise<void> {
  const end = Date.now() + 60_000;
  let ok = 0;
  while (ok < workers * 4) {
    if (Date.now() > end) throw new Error(`gateway at ${url} not healthy within 60 s`);
    const status = await fetch(`${url}/healthz`).then((r) => r.status, () => 0);
    if (status === 200) ok++;
    else await new Promise((r) => setTimeout(r, 200));
  }
  // The second worker may still be starting: give it time to listen (the primary hands it connections only then).
  if (workers > 1) await new Promise((r) => setTimeout(r, 5000));
}

/**
 * Sends requests on `conns` keep-alive connections for `ms`: back to back, or, with `rate`, each
 * connection at its share of `rate` requests a second (a slot missed is skipped, not made up).
 * Latencies of each.
 */
async function load(url: string, key: string, conns: number, ms: number, rate?: number): Promise<number[]> {
  const body = JSON.stringify({ contents: [{ parts: [{ text: 'hi' }] }] });
  const u = new URL(`${url}/v1beta/models/google-text:generateContent`);
  const end = performance.now() + ms;
  const lat: number[] = [];
  const sockets = new Set<object>();
  const one = (agent: Agent) =>
    new Promise<void>((resolve, reject) => {
      const req = request(u, { method: 'POST', agent, headers: { 'x-goog-api-key': key, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.on('socket', (s) => sockets.add(s));
      req.end(body);
    });
  await Promise.all(
    Array.from({ length: conns }, async () => {
      // One connection per loop: node:cluster hands connections (not requests) to workers.
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const every = rate ? (conns * 1000) / rate : 0;
      let next = performance.now() + Math.random() * every;
      while (performance.now() < end) {
        if (every) {
          const wait = next - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          next = Math.max(next + every, performance.now());
        }
        const t0 = performance.now();
        await one(agent);
        lat.push(performance.now() - t0);
      }
      agent.destroy();
    }),
  );
  if (sockets.size > conns) log(`${sockets.size} connections for ${lat.length} requests on ${conns} keep-alive loops`);
  return lat;
}

async function main(): Promise<void> {
  if (PIN) pinSelf(LOAD_CPU);
  const stale = unbuilt(GATEWAY_MAIN, join(process.cwd(), 'src'));
  if (stale) throw new Error(stale);
  const redis = await ownRedis();
  if (!(await probeRedis(redis.url)).ok) throw new Error(`no Redis at ${TEST_REDIS_URL} (set TEST_REDIS_URL)`);
  log(`Redis: ${redis.shown}`);
  const backend = (opt('backend') ?? ((await probePostgres()).ok ? 'postgres' : 'sqlite')) as 'postgres' | 'sqlite';
  const dir = mkdtempSync(join(tmpdir(), 'ggw-bench-replicas-'));
  const fake = await startFakeUpstream({ upstreamKey: UPSTREAM_KEY });
  const cleanups: Array<() => Promise<void>> = [];
  const variants: Variant[] = [
    { name: '1 process, no Redis', env: {}, workers: 1, c1: [], c1Cpu: [], c8Cpu: [], c8Rps: [], pacedCpu: [], idle: [], primaryShare: [] },
    { name: '1 process + Redis', env: { REDIS_URL: redis.url }, workers: 1, c1: [], c1Cpu: [], c8Cpu: [], c8Rps: [], pacedCpu: [], idle: [], primaryShare: [] },
    { name: 'GATEWAY_WORKERS=2 + Redis', env: { REDIS_URL: redis.url, GATEWAY_WORKERS: '2' }, workers: 2, c1: [], c1Cpu: [], c8Cpu: [], c8Rps: [], pacedCpu: [], idle: [], primaryShare: [] },
  ];
  for (const [n, main] of BASELINES.entries()) variants.push({ name: `1 process + Redis (baseline${BASELINES.length > 1 ? ` ${n + 1}` : ''})`, main, env: { REDIS_URL: redis.url }, workers: 1, c1: [], c1Cpu: [], c8Cpu: [], c8Rps: [], pacedCpu: [], idle: [], primaryShare: [] });
  if (ONLY !== undefined) variants.splice(0, variants.length, ...ONLY.split(',').map((i) => variants[Number(i)]!));
  try {
    for (const [i, v] of variants.entries()) {
      // A database each: the gateway without Redis must be the only one on its own.
      let dbEnv: Record<string, string>;
      if (backend === 'postgres') {
        const pgDb = await createTestDatabase();
        cleanups.push(() => pgDb.drop());
        dbEnv = { DATABASE_URL: pgDb.url };
      } else dbEnv = { DATABASE_PATH: join(dir, `v${i}.db`) };
      const store = await openStore(parseConfig(dbEnv));
      const created = await createKeyFor(store.db, systemClock, { tenant: 'bench', project: 'replicas' });
      const [row] = await query<{ project_id: string }>(store.db, 'SELECT project_id FROM api_keys WHERE id = ?', [created.id]);
      await store.close();
      const prefix = testPrefix();
      if (v.env.REDIS_URL) cleanups.push(() => dropPrefix(redis.url, prefix));
      const port = await freePort();
      v.url = `http://127.0.0.1:${port}`;
      // As operators run it, logging warnings only (an info line per request would be measured too).
      // The compiled entry, as operators run it (Dockerfile) and as `npm run bench` measures it: tsx's loader
      // thread and its source maps are not what is being measured.
      const [cmd, args] = pinned(PIN ? GATEWAY_CPU : undefined, process.execPath, [...NODE_ARGS, v.main ?? GATEWAY_MAIN]);
      v.gateway = spawn(cmd, args, {
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', HOST: '127.0.0.1', PORT: String(port), ...dbEnv, ...v.env, REDIS_KEY_PREFIX: prefix, UPSTREAM_BASE_URL: fake.url, GEMINI_API_KEY: UPSTREAM_KEY, ADMIN_TOKEN, LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      await healthy(v.url, v.workers);
      v.key = created.key;
      if (LIMITS) {
        const res = await fetch(`${v.url}/admin/v1/projects/${row!.project_id}/limits`, {
          method: 'PUT', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({ limits: [{ requestsPerMinute: 100_000_000, tokensPerDay: 1_000_000_000_000, maxConcurrent: 1000 }] }),
        });
        if (res.status !== 200) throw new Error(`limits: ${res.status} ${await res.text()}`);
      }
      await load(v.url, v.key, 4, 1500); // warm-up (JIT, pools, Redis scripts loaded)
      log(`${v.name}: started (${backend})`);
    }
    for (let r = 0; r < ROUNDS; r++) {
      for (const v of variants) {
        const pid = v.gateway!.pid!;
        // What the processes burn with no traffic (pollers, lease renewals, heartbeats), per second.
        let cpu0 = cpuMs(pid);
        await new Promise((r) => setTimeout(r, 2000));
        v.idle.push((cpuMs(pid) - cpu0) / 2);
        cpu0 = cpuMs(pid);
        const c1 = await load(v.url!, v.key!, 1, SECONDS * 1000);
        v.c1.push(percentile(c1, 50));
        v.c1Cpu.push((cpuMs(pid) - cpu0) / c1.length);
        cpu0 = cpuMs(pid);
        const own0 = cpuMs(pid, false);
        const c8 = await load(v.url!, v.key!, 8, SECONDS * 1000);
        v.primaryShare.push((cpuMs(pid, false) - own0) / Math.max(1, cpuMs(pid) - cpu0));
        v.c8Cpu.push((cpuMs(pid) - cpu0) / c8.length);
        v.c8Rps.push(c8.length / SECONDS);
        cpu0 = cpuMs(pid);
        const paced = await load(v.url!, v.key!, 8, SECONDS * 1000, RATE);
        v.pacedCpu.push((cpuMs(pid) - cpu0) / paced.length);
        log(`round ${r + 1} ${v.name}: ${c1.length} + ${c8.length} requests; idle ${v.idle.at(-1)!.toFixed(0)} CPU ms/s; c=1 p50 ${v.c1.at(-1)!.toFixed(3)} ms, ${v.c1Cpu.at(-1)!.toFixed(3)} CPU ms/req; c=8 ${v.c8Rps.at(-1)!.toFixed(0)} req/s, ${v.c8Cpu.at(-1)!.toFixed(3)} CPU ms/req; ${paced.length} at ${RATE}/s, ${v.pacedCpu.at(-1)!.toFixed(3)} CPU ms/req${v.workers > 1 ? ` (primary ${(v.primaryShare.at(-1)! * 100).toFixed(0)}%)` : ''}`);
      }
    }
  } finally {
    await Promise.all(
      variants.map((v) => {
        const g = v.gateway;
        if (!g || g.exitCode !== null || g.signalCode !== null) return;
        return new Promise((r) => {
          g.once('exit', r);
          g.kill('SIGTERM');
        });
      }),
    );
    await fake.close();
    for (const c of cleanups) await c().catch(() => {});
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const med = (xs: number[]) => percentile(xs, 50);
  const ratio = (xs: number[], base: number[]) => {
    const r = xs.map((x, i) => x / base[i]!);
    return xs === base ? '1.00×' : `${med(r).toFixed(2)}× [${Math.min(...r).toFixed(2)}–${Math.max(...r).toFixed(2)}]`;
  };
  const base = variants[0]!;
  const lines = [
    `Replicas bench: ${backend}, Redis ${redis.shown}, ${LIMITS ? 'project limited (quota path on every request)' : 'no limits'}, ${ROUNDS} rounds × ${SECONDS} s per phase, medians over rounds; load before ${before}, after ${loadavg().map((x) => x.toFixed(2)).join(' ')}`,
    '',
    `Ratios are medians of each round's ratio to the process without Redis in the same round [range]; c=8 runs closed-loop (as fast as each variant answers), paced runs ${RATE} req/s on 8 connections for every variant.`,
    '',
    `| variant | c=1 p50 ms | vs alone | CPU ms/req c=1 | ratio | c=8 req/s | CPU ms/req c=8 | ratio | CPU ms/req at ${RATE}/s | ratio | idle CPU ms/s |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...variants.map((v) =>
      `| ${v.name} | ${med(v.c1).toFixed(3)} | ${v === base ? '' : `${med(v.c1) - med(base.c1) >= 0 ? '+' : ''}${(med(v.c1) - med(base.c1)).toFixed(3)}`} | ${med(v.c1Cpu).toFixed(3)} | ${ratio(v.c1Cpu, base.c1Cpu)} | ${med(v.c8Rps).toFixed(0)} | ${med(v.c8Cpu).toFixed(3)} | ${ratio(v.c8Cpu, base.c8Cpu)} | ${med(v.pacedCpu).toFixed(3)} | ${ratio(v.pacedCpu, base.pacedCpu)} | ${med(v.idle).toFixed(0)} |`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

const before = loadavg().map((x) => x.toFixed(2)).join(' ');
main().then(
  () => process.exit(0),
  (err: Error) => {
    log(`failed: ${err.stack ?? err.message}`);
    process.exit(1);
  },
);
