// Unary generateContent load: wrk when it is on PATH (pinned like the rest of the load side),
// otherwise a closed-loop undici client with C connections. Reports req/s and latency percentiles.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Pool } from 'undici';
import { UNARY_PATH, UNARY_REPLY, requestBody } from './payloads.js';
import { run } from './procs.js';
import { Samples, summarize } from './stats.js';

export const HAS_WRK = spawnSync('wrk', ['-v'], { stdio: 'ignore' }).error === undefined;

export interface UnaryOptions {
  baseUrl: string; // http://127.0.0.1:port
  key: string;
  connections: number;
  durationMs: number;
  client: 'wrk' | 'node';
  cpu?: number; // wrk only: the node client runs in the harness, which is already pinned
}

export interface UnaryResult {
  client: 'wrk' | 'node';
  connections: number;
  requests: number; // completed responses
  ok: number; // 2xx responses
  errors: number; // transport errors + non-2xx
  rps: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
}

const BODY = requestBody('unary');

function wrkScript(key: string): string {
  return `
wrk.method = "POST"
wrk.body = [==[${BODY}]==]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["x-goog-api-key"] = [==[${key}]==]
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"durationUs":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%f}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
`;
}

async function runWrk(o: UnaryOptions): Promise<UnaryResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-wrk-'));
  try {
    const script = path.join(dir, 'post.lua');
    writeFileSync(script, wrkScript(o.key));
    const secs = Math.max(1, Math.round(o.durationMs / 1000));
    const args = ['-t1', `-c${o.connections}`, `-d${secs}s`, '--timeout', '10s', '-s', script, o.baseUrl + UNARY_PATH];
    const r = await run('wrk', args, { cpu: o.cpu, timeoutMs: secs * 1000 + 30_000 });
    const line = r.stdout.split('\n').find((l) => l.startsWith('WRKJSON '));
    if (!line) throw new Error(`wrk failed (${r.code}): ${r.stderr || r.stdout}`);
    const j = JSON.parse(line.slice(8)) as Record<string, number>;
    const us = (k: string): number => (j[k] ?? NaN) / 1000;
    const errors = j.connect! + j.read! + j.write! + j.status! + j.timeout!;
    return {
      client: 'wrk',
      connections: o.connections,
      requests: j.requests!,
      ok: j.requests! - j.status!,
      errors,
      rps: j.requests! / (j.durationUs! / 1e6),
      latencyMs: { p50: us('p50'), p90: us('p90'), p99: us('p99'), max: us('max'), mean: us('mean') },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runNode(o: UnaryOptions): Promise<UnaryResult> {
  const pool = new Pool(o.baseUrl, { connections: o.connections, pipelining: 1, keepAliveTimeout: 30_000 });
  const lat = new Samples(1 << 16);
  let errors = 0;
  const headers = { 'content-type': 'application/json', 'x-goog-api-key': o.key };
  const started = performance.now();
  const deadline = started + o.durationMs;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      try {
        const res = await pool.request({ path: UNARY_PATH, method: 'POST', headers, body: BODY });
        await res.body.dump({ limit: 1 << 20 });
        if (res.statusCode >= 200 && res.statusCode < 300) lat.push(performance.now() - t0);
        else errors++;
      } catch {
        errors++;
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  };
  await Promise.all(Array.from({ length: o.connections }, worker));
  const elapsed = performance.now() - started;
  await pool.close();
  const s = summarize(lat.values());
  return {
    client: 'node',
    connections: o.connections,
    requests: lat.length + errors,
    ok: lat.length,
    errors,
    rps: lat.length / (elapsed / 1000),
    latencyMs: { p50: s.p50, p90: s.p90, p99: s.p99, max: s.max, mean: s.mean },
  };
}

export function runUnary(o: UnaryOptions): Promise<UnaryResult> {
  return o.client === 'wrk' ? runWrk(o) : runNode(o);
}

/** Fixed number of requests at fixed concurrency (soak); returns successes. */
export async function runUnaryCount(baseUrl: string, key: string, connections: number, total: number): Promise<{ ok: number; errors: number }> {
  const pool = new Pool(baseUrl, { connections, pipelining: 1 });
  let next = 0;
  let ok = 0;
  let errors = 0;
  const headers = { 'content-type': 'application/json', 'x-goog-api-key': key };
  const worker = async (): Promise<void> => {
    while (next < total) {
      next++;
      try {
        const res = await pool.request({ path: UNARY_PATH, method: 'POST', headers, body: BODY });
        await res.body.dump({ limit: 1 << 20 });
        if (res.statusCode === 200) ok++;
        else errors++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  await pool.close();
  return { ok, errors };
}

/** Correctness: `n` requests, each must be 200 with a body byte-identical to the mock's. */
export async function checkUnary(baseUrl: string, key: string, n: number): Promise<{ ok: number; problems: string[] }> {
  const pool = new Pool(baseUrl, { connections: 4 });
  const problems: string[] = [];
  let ok = 0;
  for (let i = 0; i < n; i++) {
    try {
      const res = await pool.request({
        path: UNARY_PATH,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-goog-api-key': key },
        body: BODY,
      });
      const buf = Buffer.from(await res.body.arrayBuffer());
      if (res.statusCode !== 200) problems.push(`unary #${i}: status ${res.statusCode}: ${buf.toString('utf8').slice(0, 200)}`);
      else if (!buf.equals(UNARY_REPLY)) problems.push(`unary #${i}: body differs from upstream's (${buf.length} vs ${UNARY_REPLY.length} bytes)`);
      else ok++;
    } catch (err) {
      problems.push(`unary #${i}: ${(err as Error).message}`);
    }
  }
  await pool.close();
  return { ok, problems: problems.slice(0, 5) };
}

/** A request with a key the peer must not accept; returns the status it answered. */
export async function statusWithKey(baseUrl: string, key: string): Promise<number> {
  const pool = new Pool(baseUrl, { connections: 1 });
  try {
    const res = await pool.request({ path: UNARY_PATH, method: 'POST', headers: { 'content-type': 'application/json', 'x-goog-api-key': key }, body: BODY });
    await res.body.dump();
    return res.statusCode;
  } finally {
    await pool.close();
  }
}
