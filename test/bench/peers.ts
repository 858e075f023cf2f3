// The things being compared, data-driven: add a PeerSpec to PEERS to bench another proxy.
//   direct  - the load client talks to the mock upstream itself (no proxy)
//   bare    - bare-proxy.ts, the floor
//   gateway - dist/main.js with metering, quotas and SQLite (n/a until built)
//   gateway-otel - the same with OpenTelemetry export on (to a local sink)
//   gateway-base - BENCH_BASELINE_MAIN (another build, e.g. main's), n/a unless set
//   gateway-full - the gateway build with everything working: limits on the bench project, a two-key
//                  pool, the metrics endpoint on (ownership, rollups and metrics are always on)
//   gateway-pg   - the gateway build on Postgres (a fresh database at TEST_DATABASE_URL's server)
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MODEL } from './payloads.js';
import { createTestDatabase } from '../support/postgres-server.js';
import { ORPHAN_GUARD, freePort, run, start, unbuilt, waitHealthy, type Proc } from './procs.js';

export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(BENCH_DIR, '../..');
export const RESULTS_DIR = path.join(BENCH_DIR, 'results');
export const PEER_CPU = 0;
export const LOAD_CPU = 1;

export interface Ctx {
  mockUrl: string;
  upstreamKey: string;
  tmpDir: string;
}

export interface Peer {
  name: string;
  baseUrl: string;
  key: string; // what clients send as x-goog-api-key
  proc: Proc | null; // null: nothing of its own to measure (direct)
  statsUrl: string | null; // GET /internal/stats, if the peer serves it
  authenticates: boolean; // must refuse an unknown key
  dbPath: string | null; // usage_events to verify after stop
  stop(): Promise<number | null>;
}

export interface PeerSpec {
  name: string;
  /** Why this peer can't run here (then it is reported as n/a), or null. */
  unavailable(): string | null;
  start(ctx: Ctx): Promise<Peer>;
}

/** [cmd, args] that run one of our .ts scripts under plain node (esbuild-compiled, else via tsx). */
const compiled = new Map<string, string>();
export async function nodeScript(file: string): Promise<[string, string[]]> {
  const src = path.join(BENCH_DIR, file);
  let out = compiled.get(file);
  if (!out) {
    try {
      const esbuild = await import('esbuild');
      const outDir = path.join(RESULTS_DIR, '.build');
      mkdirSync(outDir, { recursive: true });
      out = path.join(outDir, file.replace(/\.ts$/, '.mjs'));
      await esbuild.build({
        entryPoints: [src],
        outfile: out,
        bundle: true,
        packages: 'external',
        platform: 'node',
        format: 'esm',
        target: 'node20',
        logLevel: 'error',
      });
    } catch {
      out = '';
    }
    compiled.set(file, out);
  }
  // Plain node keeps tsx's loader thread out of the peer's RSS and CPU.
  return out ? [process.execPath, [...ORPHAN_GUARD, out]] : [process.execPath, [...ORPHAN_GUARD, '--import', 'tsx', src]];
}

const direct: PeerSpec = {
  name: 'direct',
  unavailable: () => null,
  async start(ctx) {
    return {
      name: 'direct',
      baseUrl: ctx.mockUrl,
      key: ctx.upstreamKey,
      proc: null,
      statsUrl: null,
      authenticates: false,
      dbPath: null,
      stop: async () => 0,
    };
  },
};

const bare: PeerSpec = {
  name: 'bare',
  unavailable: () => null,
  async start(ctx) {
    const port = await freePort();
    const key = `bench-client-${randomBytes(8).toString('hex')}`;
    const [cmd, args] = await nodeScript('bare-proxy.ts');
    const proc = start({
      name: 'bare',
      cmd,
      args,
      cwd: REPO,
      cpu: PEER_CPU,
      env: {
        PORT: String(port),
        UPSTREAM_BASE_URL: ctx.mockUrl,
        GEMINI_API_KEY: ctx.upstreamKey,
        CLIENT_KEY: key,
        GATEWAY_INTERNAL_STATS: '1',
      },
    });
    const baseUrl = `http://127.0.0.1:${port}`;
    await waitHealthy(proc, `${baseUrl}/healthz`);
    return { name: 'bare', baseUrl, key, proc, statsUrl: `${baseUrl}/internal/stats`, authenticates: true, dbPath: null, stop: () => proc.stop() };
  },
};

const GATEWAY_MAIN = process.env.BENCH_GATEWAY_MAIN ?? path.join(REPO, 'dist/main.js');
// The published launcher (bin/gemini-gateway.js imports the compiled CLI from dist/).
const GATEWAY_CLI = process.env.BENCH_GATEWAY_CLI ?? path.join(REPO, 'bin/gemini-gateway.js');

/** Tenant key per database: a restarted gateway (memory probes) reuses the one already created. */
const gatewayKeys = new Map<string, string>();

/**
 * A gateway peer: `main` is the compiled entry; `telemetry` points its OTLP/HTTP exporters (traces
 * and metrics, protobuf, every request sampled) at a sink in this process that accepts and drops.
 */
function gatewaySpec(name: string, main: string | undefined, telemetry = false, full = false, postgres = false): PeerSpec {
  return {
    name,
    unavailable() {
      if (!main) return 'set BENCH_BASELINE_MAIN to a compiled dist/main.js (e.g. of main) to compare against';
      // The baseline is another tree's build; only this tree's own dist/ can be stale against src/.
      return main === path.join(REPO, 'dist/main.js') ? unbuilt(main, path.join(REPO, 'src')) : existsSync(main) ? null : `${main} not built`;
    },
    async start(ctx) {
      const port = await freePort();
      const dbPath = path.join(ctx.tmpDir, `${name}.db`);
      const sink = telemetry ? await startOtlpSink() : null;
      // Postgres mode: a fresh database per start, dropped at stop (the rows check reads SQLite files only).
      const pgDb = postgres ? await createTestDatabase() : null;
      const env: Record<string, string> = {
        PORT: String(port),
        HOST: '127.0.0.1',
        DATABASE_PATH: dbPath,
        UPSTREAM_BASE_URL: ctx.mockUrl,
        GEMINI_API_KEY: ctx.upstreamKey,
        LOG_LEVEL: 'warn',
        GATEWAY_INTERNAL_STATS: '1',
        // Defaults are what is measured; USAGE_* settings and MALLOC_ARENA_MAX pass through for experiments.
        ...Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => (e[0].startsWith('USAGE_') || e[0] === 'MALLOC_ARENA_MAX') && e[1] !== undefined)),
        ...(full ? { GEMINI_API_KEYS: `${ctx.upstreamKey}-alt`, METRICS_TOKEN: randomBytes(16).toString('hex') } : {}),
        ...(pgDb ? { DATABASE_URL: pgDb.url } : {}),
        ...(sink ? { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_TRACES_SAMPLER: 'always_on', OTEL_METRIC_EXPORT_INTERVAL: '10000' } : {}),
      };
      let key = gatewayKeys.get(pgDb?.url ?? dbPath);
      if (!key) {
        key = await createKey(env);
        if (full) await setLimits(env);
        gatewayKeys.set(pgDb?.url ?? dbPath, key);
      }
      // Heap experiments: BENCH_GATEWAY_NODE_FLAGS="--max-semi-space-size=32" (space-separated node flags).
      // BENCH_BASELINE_NODE_FLAGS gives gateway-base its own ("" for none), so one build A/Bs two heap
      // settings in one run (BENCH_BASELINE_MAIN=$PWD/dist/main.js).
      const flags = (name === 'gateway-base' ? process.env.BENCH_BASELINE_NODE_FLAGS : undefined) ?? process.env.BENCH_GATEWAY_NODE_FLAGS;
      const nodeFlags = (flags ?? '').split(' ').filter(Boolean);
      const proc = start({ name, cmd: process.execPath, args: [...ORPHAN_GUARD, ...nodeFlags, main!], cwd: REPO, cpu: PEER_CPU, env });
      const baseUrl = `http://127.0.0.1:${port}`;
      await waitHealthy(proc, `${baseUrl}/healthz`, 30_000);
      const stop = async (): Promise<number | null> => {
        const code = await proc.stop(20_000);
        await pgDb?.drop();
        if (sink) {
          await sink.close();
          if (sink.exports() === 0) throw new Error(`${name}: the OTLP sink received no export`);
        }
        return code;
      };
      return { name, baseUrl, key, proc, statsUrl: `${baseUrl}/internal/stats`, authenticates: true, dbPath: pgDb ? null : dbPath, stop };
    },
  };
}

/** Accepts OTLP/HTTP exports and drops them: the cost measured is the gateway's, not a collector's. */
async function startOtlpSink(): Promise<{ url: string; exports(): number; close(): Promise<void> }> {
  let exports = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url === '/v1/traces' || req.url === '/v1/metrics') exports++;
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    exports: () => exports,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

const gateway = gatewaySpec('gateway', GATEWAY_MAIN);
/** The same build with OpenTelemetry on: its CPU per request against `gateway` is the cost of tracing. */
const gatewayOtel = gatewaySpec('gateway-otel', GATEWAY_MAIN, true);
/** Another build (BENCH_BASELINE_MAIN), e.g. main's, to show a change costs nothing with telemetry off. */
const gatewayBase = gatewaySpec('gateway-base', process.env.BENCH_BASELINE_MAIN);
/** The same build with limits set, a two-key pool and the metrics endpoint: the targets must hold here too. */
const gatewayFull = gatewaySpec('gateway-full', GATEWAY_MAIN, false, true);
/** The same build on Postgres (a fresh database at TEST_DATABASE_URL's server): issue 12's hot-path CPU against `gateway`. */
const gatewayPg = gatewaySpec('gateway-pg', GATEWAY_MAIN, false, false, true);

/**
 * Limits on the bench project that admission must check on every request but never reach: a
 * project rule over every window and concurrency, and a model rule (the bench's model).
 */
async function setLimits(env: Record<string, string>): Promise<void> {
  const big = '1000000000000';
  const rules = [
    ['--requests-per-minute', big, '--tokens-per-minute', big, '--tokens-per-day', big, '--tokens-per-month', big, '--max-concurrent', '100000'],
    ['--model', MODEL, '--requests-per-minute', big, '--tokens-per-day', big],
  ];
  for (const rule of rules) {
    const r = await run(process.execPath, [GATEWAY_CLI, 'limits', 'set', '--tenant', 'bench', '--project', 'bench', ...rule, '--json'], { cwd: REPO, env, timeoutMs: 30_000 });
    if (r.code !== 0) throw new Error(`gateway-full: "limits set" failed (exit ${r.code}): ${(r.stderr || r.stdout).slice(0, 1000)}`);
  }
}

async function createKey(env: Record<string, string>): Promise<string> {
  const created = await run(process.execPath, [GATEWAY_CLI, 'keys', 'create', '--tenant', 'bench', '--project', 'bench', '--json'], {
    cwd: REPO,
    env,
    timeoutMs: 30_000,
  });
  const line = created.stdout.split('\n').find((l) => l.trim().startsWith('{'));
  let key = '';
  try {
    key = (JSON.parse(line ?? '') as { key?: string }).key ?? '';
  } catch {
    /* reported below */
  }
  if (created.code !== 0 || !key) {
    throw new Error(`gateway: "keys create" failed (exit ${created.code}): ${(created.stderr || created.stdout).slice(0, 1000)}`);
  }
  return key;
}

export const PEERS: PeerSpec[] = [direct, bare, gateway, gatewayFull, gatewayOtel, gatewayBase, gatewayPg];
