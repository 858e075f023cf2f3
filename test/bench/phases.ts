// One measurement each: warm-up/correctness probes, a unary round, an SSE round, a memory probe on a
// fresh peer process, and the soak. run.ts decides the order; everything lands in `b.res`.
import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Sent } from './checks.js';
import { peerStats } from './checks.js';
import { runSse, type SseResult } from './load-sse.js';
import { checkUnary, runUnary, runUnaryCount, statusWithKey } from './load-unary.js';
import { LOAD_CPU, type Ctx, type Peer, type PeerSpec } from './peers.js';
import { cpuMeter, cpuTimeMs, mainThreadCpuTimeMs, rssBytes, sampleRss } from './sys.js';
import type { Results } from './report.js';

export interface Config {
  rounds: number;
  unaryMs: number;
  warmMs: number;
  sse: number[];
  frames: number;
  delayMs: number;
  memRounds: number;
  writerRows: number;
  soak: boolean;
  waitQuiet: boolean;
}

export interface Bench {
  cfg: Config;
  unaryClient: 'wrk' | 'node';
  ctx: Ctx;
  res: Results;
  sent: Map<string, Sent>;
  log(msg: string): void;
  fail(msg: string): void;
  /** Pids of the long-lived children (mock, peers), for the foreign-CPU meter. */
  livePids(): number[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const loadLoop = monitorEventLoopDelay({ resolution: 1 });
loadLoop.enable();

let quietBudgetMs = 180_000;
/**
 * On a shared machine, waits (up to 15 s a time, 3 min a run) for other jobs' CPU to drop under
 * 10% before a timed round; the figure measured during the round is recorded either way.
 */
export async function waitQuiet(b: Bench): Promise<void> {
  if (!b.cfg.waitQuiet) return;
  const t0 = Date.now();
  for (;;) {
    const m = cpuMeter(b.livePids);
    await sleep(300);
    const { foreignPct } = m.stop();
    const waited = Date.now() - t0;
    if (foreignPct === null || foreignPct < 10 || waited > 15_000 || quietBudgetMs - waited <= 0) {
      quietBudgetMs -= waited;
      if (waited > 1000) b.log(`waited ${(waited / 1000).toFixed(1)} s for other jobs' CPU to drop (now ${foreignPct?.toFixed(0)}%)`);
      return;
    }
  }
}

export function sentTo(b: Bench, name: string): Sent {
  let s = b.sent.get(name);
  if (!s) b.sent.set(name, (s = { unaryOk: 0, streamsOk: 0, slack: 0 }));
  return s;
}

function checkSse(b: Bench, p: Peer, label: string, r: SseResult): void {
  const s = sentTo(b, p.name);
  s.streamsOk += r.ok;
  s.unaryOk += r.prewarmOk;
  if (r.failed || r.lost || r.merged || r.altered || r.extra || r.byteIdenticalStreams !== r.streams) {
    b.fail(
      `${p.name} ${label}: ${r.failed} failed, frames lost ${r.lost} / merged ${r.merged} / altered ${r.altered} / extra ${r.extra}, ` +
        `byte-identical ${r.byteIdenticalStreams}/${r.streams}; ${r.errors.join('; ')}`,
    );
  }
}

/** Correctness probes (bytes, key refusal) and warm-up traffic, unary and SSE. */
export async function warmUp(b: Bench, p: Peer, ms: number, streams: number): Promise<void> {
  const u = await checkUnary(p.baseUrl, p.key, 20);
  sentTo(b, p.name).unaryOk += u.ok;
  for (const msg of u.problems) b.fail(`${p.name} ${msg}`);
  if (p.authenticates) {
    const status = await statusWithKey(p.baseUrl, `bench-wrong-${randomBytes(8).toString('hex')}`).catch(() => 0);
    if (status < 400 || status >= 500) b.fail(`${p.name} answered ${status} to an unknown key (expected 4xx)`);
  }
  const w = await runUnary({ baseUrl: p.baseUrl, key: p.key, connections: 16, durationMs: ms, client: 'node' });
  sentTo(b, p.name).unaryOk += w.ok;
  if (w.errors) b.fail(`${p.name} warm-up: ${w.errors} unary errors`);
  const { frames, delayMs } = b.cfg;
  const s = await runSse({ baseUrl: p.baseUrl, key: p.key, streams, frames, delayMs, seedPrefix: `${p.name}-warm`, prewarm: false });
  checkSse(b, p, 'SSE warm-up', s);
}

export async function unaryRound(b: Bench, p: Peer, c: number, round: number): Promise<void> {
  const pid = p.proc?.pid ?? null;
  await waitQuiet(b);
  await peerStats(p.statsUrl, true);
  const cpu0 = pid ? cpuTimeMs(pid) : null;
  const main0 = pid ? mainThreadCpuTimeMs(pid) : null;
  const meter = cpuMeter(b.livePids);
  const r = await runUnary({ baseUrl: p.baseUrl, key: p.key, connections: c, durationMs: b.cfg.unaryMs, client: b.unaryClient, cpu: LOAD_CPU });
  const cpu1 = pid ? cpuTimeMs(pid) : null;
  const main1 = pid ? mainThreadCpuTimeMs(pid) : null;
  const noise = meter.stop();
  const st = await peerStats(p.statsUrl);
  const s = sentTo(b, p.name);
  s.unaryOk += r.ok;
  if (r.client === 'wrk') s.slack += c;
  if (r.errors) b.fail(`${p.name} unary c=${c}: ${r.errors} errors of ${r.requests}`);
  (b.res.unary[`c${c}`]![p.name] ??= []).push({
    round,
    res: r,
    peerCpuMs: cpu0 != null && cpu1 != null ? cpu1 - cpu0 : null,
    peerMainThreadCpuMs: main0 != null && main1 != null ? main1 - main0 : null,
    eventLoopDelayP99Ms: st?.eventLoopDelayP99Ms ?? null,
    ...noise,
  });
  const l = r.latencyMs;
  b.log(`${p.name} unary c=${c} r${round}: ${r.rps.toFixed(0)} req/s p50 ${l.p50.toFixed(3)} p99 ${l.p99.toFixed(3)} ms`);
}

export async function sseRound(b: Bench, p: Peer, c: number, round: number): Promise<void> {
  const pid = p.proc?.pid ?? null;
  await waitQuiet(b);
  loadLoop.reset();
  const rssBefore = pid ? rssBytes(pid) : null;
  const sampler = pid ? sampleRss(pid) : null;
  const cpu0 = pid ? cpuTimeMs(pid) : null;
  const meter = cpuMeter(b.livePids);
  const { frames, delayMs } = b.cfg;
  const r = await runSse({ baseUrl: p.baseUrl, key: p.key, streams: c, frames, delayMs, seedPrefix: `${p.name}-${c}-r${round}`, prewarm: true });
  const noise = meter.stop();
  const cpu1 = pid ? cpuTimeMs(pid) : null;
  const peak = sampler?.stop().peak ?? null;
  checkSse(b, p, `SSE ${c} round ${round}`, r);
  (b.res.sse[String(c)]![p.name] ??= []).push({
    round,
    res: r,
    rssBeforeBytes: rssBefore,
    rssPeakBytes: peak,
    peerCpuMs: cpu0 != null && cpu1 != null ? cpu1 - cpu0 : null,
    clientLoopDelayP99Ms: loadLoop.percentile(99) / 1e6,
    ...noise,
  });
  b.log(
    `${p.name} SSE ${c} r${round}: ttff p50 ${r.ttffMs.p50.toFixed(2)} p99 ${r.ttffMs.p99.toFixed(2)} gap p99 ${r.gapMs.p99.toFixed(2)} ms, ` +
      `${r.byteIdenticalStreams}/${c} identical${peak ? `, peak RSS ${(peak / 2 ** 20).toFixed(1)} MB` : ''}`,
  );
}

/**
 * RSS per open stream on a fresh process: start, warm (so code and pools exist), let it settle,
 * then hold C streams open: (peak − idle) / C. A long-lived process would hide the growth in heap
 * headroom left by earlier rounds.
 */
export async function memoryProbe(b: Bench, spec: PeerSpec, c: number, round: number): Promise<void> {
  const p = await spec.start(b.ctx);
  try {
    await warmUp(b, p, 300, 16);
    await sleep(500);
    const idle = rssBytes(p.proc!.pid);
    const sampler = sampleRss(p.proc!.pid, 10);
    const { frames, delayMs } = b.cfg;
    const r = await runSse({ baseUrl: p.baseUrl, key: p.key, streams: c, frames, delayMs, seedPrefix: `${p.name}-mem${c}-r${round}`, prewarm: true });
    const peak = sampler.stop().peak;
    checkSse(b, p, `memory probe SSE ${c}`, r);
    const perStreamKiB = idle != null && peak != null ? (peak - idle) / c / 1024 : null;
    ((b.res.mem[String(c)] ??= {})[p.name] ??= []).push({ round, idleBytes: idle, peakBytes: peak, perStreamKiB });
    b.log(`${p.name} memory ${c} streams r${round}: idle ${((idle ?? 0) / 2 ** 20).toFixed(1)} MB, peak ${((peak ?? 0) / 2 ** 20).toFixed(1)} MB, ${perStreamKiB?.toFixed(1)} KiB/stream`);
  } finally {
    const code = await p.stop();
    if (code !== 0) b.fail(`${p.name} exited with ${code} after SIGTERM: ${p.proc?.output().slice(-500)}`);
  }
}

/** 10k then 90k more unary requests at c=64; RSS after each. */
export async function soak(b: Bench, p: Peer): Promise<void> {
  b.log(`${p.name}: soak (100k requests, c=64)`);
  const pid = p.proc!.pid;
  const first = await runUnaryCount(p.baseUrl, p.key, 64, 10_000);
  const rss10k = rssBytes(pid);
  const rest = await runUnaryCount(p.baseUrl, p.key, 64, 90_000);
  const rss100k = rssBytes(pid);
  const errors = first.errors + rest.errors;
  sentTo(b, p.name).unaryOk += first.ok + rest.ok;
  if (errors) b.fail(`${p.name} soak: ${errors} errors`);
  const growthPct = rss10k && rss100k ? ((rss100k - rss10k) / rss10k) * 100 : null;
  b.res.soak[p.name] = { rss10kBytes: rss10k, rss100kBytes: rss100k, growthPct, errors };
}
