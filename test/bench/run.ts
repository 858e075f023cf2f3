// npm run bench [-- --quick] [--soak|--no-soak] [--peers=direct,bare,gateway,gateway-full,gateway-otel,gateway-base] [--rounds=N] [--mem-rounds=N]
//   [--unary-client=wrk|node] [--no-writer] [--no-pin] [--no-wait-quiet] [--nice] [--mem (quick: add the RSS probe)]   (BENCH_QUICK=1 == --quick)
// --nice runs the harness and its children at nice -10 (root), for machines shared with other jobs.
// Markdown table on stdout, progress on stderr, raw JSON in test/bench/results/<timestamp>.json.
// Exits 1 on a correctness failure (frames, bytes, keys, rows); timing is never asserted.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mockStats, verifyRows } from './checks.js';
import { HAS_WRK } from './load-unary.js';
import { BENCH_DIR, LOAD_CPU, PEERS, PEER_CPU, REPO, RESULTS_DIR, nodeScript, type Peer } from './peers.js';
import { memoryProbe, soak, sseRound, unaryRound, warmUp, type Bench, type Config } from './phases.js';
import { CPUS, HAS_TASKSET, PIN, freePort, killAll, pinSelf, run, start, waitHealthy } from './procs.js';
import { rssBytes } from './sys.js';
import { renderTable, type Results } from './report.js';
import { spread } from './stats.js';

const argv = process.argv.slice(2);
const flag = (n: string): boolean => argv.includes(`--${n}`);
const opt = (n: string): string | undefined => argv.find((a) => a.startsWith(`--${n}=`))?.slice(n.length + 3);
const QUICK = flag('quick') || ['1', 'true'].includes(process.env.BENCH_QUICK ?? '');
const cfg: Config = QUICK
  ? { rounds: 1, unaryMs: 1000, warmMs: 300, sse: [64], frames: 16, delayMs: 10, memRounds: flag('mem') ? 1 : 0, writerRows: 20_000, soak: flag('soak'), waitQuiet: false }
  : { rounds: 5, unaryMs: 5000, warmMs: 2000, sse: [256, 512], frames: 64, delayMs: 20, memRounds: 3, writerRows: 200_000, soak: !flag('no-soak'), waitQuiet: !flag('no-wait-quiet') && !flag('nice') };
cfg.rounds = Number(opt('rounds') ?? cfg.rounds);
cfg.memRounds = Number(opt('mem-rounds') ?? cfg.memRounds);
const rounds = cfg.rounds;
const unaryClient = (opt('unary-client') ?? (QUICK || !HAS_WRK ? 'node' : 'wrk')) as 'wrk' | 'node';
const ALL_PEERS = PEERS.map((p) => p.name);
// gateway-base runs only when there is a baseline build to run (BENCH_BASELINE_MAIN).
// gateway-pg needs a Postgres server: it runs when asked for (--peers) or when TEST_DATABASE_URL names one.
const DEFAULT_PEERS = ALL_PEERS.filter((n) => (n !== 'gateway-base' || process.env.BENCH_BASELINE_MAIN) && (n !== 'gateway-pg' || process.env.TEST_DATABASE_URL));
const peerNames = (opt('peers') ?? DEFAULT_PEERS.join(',')).split(',').filter(Boolean);
if (unaryClient === 'wrk' && !HAS_WRK) throw new Error('--unary-client=wrk but wrk is not on PATH');

const log = (msg: string): void => void process.stderr.write(`[bench] ${msg}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const problems: string[] = [];
const fail = (msg: string): void => {
  problems.push(msg);
  log(`FAIL ${msg}`);
};
const watchdog = setTimeout(() => {
  log('watchdog: run took too long, killing everything');
  killAll();
  process.exit(3);
}, (QUICK ? 120 : 1800) * 1000);
watchdog.unref();

const res: Results = { meta: {}, peers: {}, unary: { c1: {}, c64: {} }, sse: {}, mem: {}, soak: {}, writer: null, writerPg: null, problems };
const peers: Peer[] = [];
let tmpDir: string | null = null;

async function main(): Promise<void> {
  pinSelf(LOAD_CPU);
  if (flag('nice')) {
    // Children inherit it: on a machine shared with other jobs, the bench's processes win the CPU.
    try {
      os.setPriority(-10);
    } catch (err) {
      log(`--nice: cannot raise priority (${(err as Error).message})`);
    }
  }
  mkdirSync(RESULTS_DIR, { recursive: true });
  tmpDir = mkdtempSync(path.join(os.tmpdir(), 'gateway-bench-'));
  const upstreamKey = `bench-upstream-${randomBytes(8).toString('hex')}`;
  res.meta = {
    date: new Date().toISOString(),
    mode: QUICK ? 'quick' : 'full',
    node: process.version,
    cpus: CPUS,
    cpuModel: /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model,
    kernel: os.release(),
    taskset: HAS_TASKSET,
    pinned: PIN ? { peer: PEER_CPU, mockAndLoad: LOAD_CPU } : false,
    unaryClient,
    priority: os.getPriority(),
    wrk: HAS_WRK ? (await run('wrk', ['-v'])).stdout.split('\n')[0]?.trim() : null,
    git: (await run('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO })).stdout.trim() || null,
    ...cfg,
  };
  if (!PIN) log(`not pinning (cpus=${CPUS}, taskset=${HAS_TASKSET}); figures will be noisier`);

  const mockPort = await freePort();
  const [mcmd, margs] = await nodeScript('mock-upstream.ts');
  const mock = start({
    name: 'mock',
    cmd: mcmd,
    args: margs,
    cwd: REPO,
    cpu: LOAD_CPU,
    env: { PORT: String(mockPort), UPSTREAM_KEY: upstreamKey, UPSTREAM_KEY_ALT: `${upstreamKey}-alt`, MOCK_FRAMES: String(cfg.frames), MOCK_FRAME_DELAY_MS: String(cfg.delayMs) },
  });
  const mockUrl = `http://127.0.0.1:${mockPort}`;
  await waitHealthy(mock, `${mockUrl}/__mock/health`);
  const livePids = (): number[] => [mock.pid, ...peers.flatMap((p) => (p.proc ? [p.proc.pid] : []))];
  const b: Bench = { cfg, unaryClient, ctx: { mockUrl, upstreamKey, tmpDir }, res, sent: new Map(), log, fail, livePids };

  const specs = peerNames.map((name) => {
    const spec = PEERS.find((p) => p.name === name);
    if (!spec) throw new Error(`unknown peer "${name}" (known: ${PEERS.map((p) => p.name).join(', ')})`);
    return spec;
  });
  for (const name of ALL_PEERS) if (!peerNames.includes(name)) res.peers[name] = { status: 'n/a', reason: 'not selected (--peers)' };
  for (const spec of specs) {
    const why = spec.unavailable();
    if (why) {
      res.peers[spec.name] = { status: 'n/a', reason: why };
      log(`${spec.name}: n/a (${why})`);
      continue;
    }
    try {
      peers.push(await spec.start(b.ctx));
      res.peers[spec.name] = { status: 'ok' };
    } catch (err) {
      res.peers[spec.name] = { status: 'failed', reason: (err as Error).message };
      fail(`${spec.name} did not start: ${(err as Error).message}`);
    }
  }

  for (const p of peers) {
    log(`${p.name}: checks and warm-up`);
    await warmUp(b, p, cfg.warmMs, Math.min(64, ...cfg.sse));
  }
  await sleep(500);
  for (const p of peers) res.peers[p.name]!.rssIdleBytes = p.proc ? rssBytes(p.proc.pid) : null;

  // Rounds alternate the order (A B C, C B A, ...) so drift hits every peer alike.
  const order = <T>(xs: T[], r: number): T[] => (r % 2 ? [...xs].reverse() : xs);
  for (const c of [1, 64]) for (let r = 0; r < rounds; r++) for (const p of order(peers, r)) await unaryRound(b, p, c, r);
  for (const c of cfg.sse) {
    res.sse[String(c)] = {};
    for (let r = 0; r < rounds; r++) {
      for (const p of order(peers, r)) {
        await sseRound(b, p, c, r);
        await sleep(200);
      }
    }
  }
  if (cfg.soak) for (const p of peers.filter((x) => x.proc)) await soak(b, p);

  for (const p of peers) {
    const code = await p.stop();
    if (p.proc && code !== 0) fail(`${p.name} exited with ${code} after SIGTERM: ${p.proc.output().slice(-500)}`);
  }
  // Memory per open stream, on fresh processes (peers that have a process of their own).
  const memSpecs = specs.filter((s) => peers.some((p) => p.name === s.name && p.proc));
  for (const c of cfg.sse) for (let r = 0; r < cfg.memRounds; r++) for (const s of order(memSpecs, r)) await memoryProbe(b, s, c, r);

  for (const p of peers.filter((x) => x.dbPath)) {
    const v = await verifyRows(p.dbPath!, b.sent.get(p.name)!, cfg.frames).catch((err: Error) => ({ summary: {}, problems: [`${p.name} rows: ${err.message}`] }));
    res.peers[p.name]!.rows = v.summary;
    v.problems.forEach(fail);
    log(`${p.name} rows: ${JSON.stringify(v.summary)}`);
  }
  const ms = await mockStats(mockUrl);
  res.meta.mock = ms;
  if (ms.rejected) fail(`upstream saw a wrong key ${ms.rejected} times (${ms.rejectedKeys.join(', ')}): a key was not swapped`);
  if (ms.notFound) log(`note: upstream answered 404 to ${ms.notFound} requests`);
  await mock.stop();

  if (!flag('no-writer')) {
    res.writer = await writerFigure('sqlite');
    res.writerPg = await writerFigure('postgres');
  }
}

/** One backend's isolated writer run (writer.ts); Postgres is n/a when no server answers at TEST_DATABASE_URL. */
async function writerFigure(backend: 'sqlite' | 'postgres'): Promise<Record<string, unknown>> {
  log(`usage writer (isolated, ${backend})`);
  const args = ['--import', 'tsx', path.join(BENCH_DIR, 'writer.ts'), '--backend', backend, '--rows', String(cfg.writerRows)];
  const w = await run(process.execPath, args, { cwd: REPO, cpu: PEER_CPU, timeoutMs: 180_000 });
  const line = w.stdout.trim().split('\n').pop() ?? '';
  let figure: Record<string, unknown>;
  try {
    figure = JSON.parse(line) as Record<string, unknown>;
  } catch {
    figure = { error: `writer exited ${w.code}: ${(w.stderr || w.stdout).slice(0, 300)}` };
  }
  if (w.code === 1) fail(`usage writer (${backend}): ${String(figure.error)}`);
  else if (w.code !== 0) log(`usage writer (${backend}): n/a (${String(figure.error ?? w.code)})`);
  return figure;
}

let crashed: Error | null = null;
try {
  await main();
} catch (err) {
  crashed = err as Error;
  fail(`harness error: ${crashed.stack ?? crashed.message}`);
} finally {
  killAll();
  if (tmpDir) rmSync(tmpDir, { recursive: true, force: true });
}
const names = ALL_PEERS;
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const file = path.join(RESULTS_DIR, `${stamp}${QUICK ? '-quick' : ''}.json`);
mkdirSync(RESULTS_DIR, { recursive: true });
writeFileSync(file, JSON.stringify(res, null, 2));
const pinned = PIN ? `peer on CPU ${PEER_CPU}, mock + load on CPU ${LOAD_CPU}` : 'not pinned';
console.log(`\n### Gemini Gateway bench (${QUICK ? 'quick' : 'full'}; ${rounds} round(s); unary client ${unaryClient}; ${pinned}; ${res.meta.cpuModel ?? ''}, Node ${process.version})\n`);
console.log(renderTable(res, names));
const naPeers = Object.entries(res.peers).filter(([, s]) => s.status !== 'ok');
for (const [n, s] of naPeers) console.log(`\n${n}: ${s.status} — ${s.reason ?? ''}`);
console.log(
  [
    '',
    'Median [min–max] across rounds; "added" = per-round difference against the same round\'s reference peer.',
    'Event-loop delay: monitorEventLoopDelay p99 at 1 ms resolution, reset before the round (the value includes that 1 ms).',
    'RSS per open stream: on a fresh, warmed process, (peak RSS while C streams are open − idle RSS) / C.',
    `Raw: ${path.relative(REPO, file)}`,
  ].join('\n'),
);
const foreign = spread([...Object.values(res.unary), ...Object.values(res.sse)].flatMap((t) => Object.values(t).flat().map((r) => r.foreignPct)));
if (foreign && foreign.median > 5) {
  console.log(`\nWARNING: other jobs used ${foreign.median.toFixed(0)}% of the machine (median) during timed rounds; timing figures are noise. Re-run on a quiet machine.`);
}
const rowsChecked = peers.some((p) => p.dbPath) ? 'usage rows match' : 'usage rows not checked: no gateway';
console.log(problems.length ? `\nCorrectness: FAILED\n${problems.map((p) => `- ${p}`).join('\n')}` : `\nCorrectness: OK (frames 1:1 and byte-identical, keys swapped, ${rowsChecked})`);
process.exit(problems.length ? 1 : 0);
