// Turns the raw results into the markdown table (medians across rounds, [min–max] ranges).
// "added" figures are per-round differences against the reference peer of the same round.
import type { SseResult } from './load-sse.js';
import type { UnaryResult } from './load-unary.js';
import { fmt, fmtSpread, spread, type Spread } from './stats.js';

export interface UnaryRound {
  round: number;
  res: UnaryResult;
  peerCpuMs: number | null;
  /** The event-loop thread alone (worker threads, GC helpers and libuv's pool excluded). */
  peerMainThreadCpuMs?: number | null;
  eventLoopDelayP99Ms: number | null;
  foreignPct: number | null; // CPU used by other jobs on the machine during the round
  stealPct: number | null;
}
export interface SseRound {
  round: number;
  res: SseResult;
  rssBeforeBytes: number | null;
  rssPeakBytes: number | null;
  peerCpuMs: number | null; // includes the prewarm requests
  clientLoopDelayP99Ms: number | null;
  foreignPct: number | null;
  stealPct: number | null;
}
export interface MemRound {
  round: number;
  idleBytes: number | null;
  peakBytes: number | null;
  perStreamKiB: number | null;
}
export interface PeerStatus {
  status: 'ok' | 'n/a' | 'failed';
  reason?: string;
  rssIdleBytes?: number | null;
  rows?: Record<string, number>; // usage_events summary (gateway)
}
export interface Results {
  meta: Record<string, unknown>;
  peers: Record<string, PeerStatus>;
  unary: Record<string, Record<string, UnaryRound[]>>; // "c1" | "c64" -> peer -> rounds
  sse: Record<string, Record<string, SseRound[]>>; // "256" -> peer -> rounds
  mem: Record<string, Record<string, MemRound[]>>; // "512" -> peer -> fresh-process probes
  soak: Record<string, { rss10kBytes: number | null; rss100kBytes: number | null; growthPct: number | null; errors: number }>;
  writer: Record<string, unknown> | null;
  /** The same figure for the Postgres sink (absent in results from before it existed). */
  writerPg?: Record<string, unknown> | null;
  problems: string[];
}

type Pick<R> = (r: R) => number | null | undefined;
const TARGET_PEER = 'gateway';

export function renderTable(res: Results, names: string[]): string {
  const rows: string[][] = [];
  const header = ['Figure', ...names, `Target (${TARGET_PEER})`];
  const add = (label: string, cells: Array<Spread | null | string>, digits: number, target = '', ok?: (v: number) => boolean): void => {
    const text = cells.map((c) => (typeof c === 'string' ? c : fmtSpread(c, digits)));
    const g = cells[names.indexOf(TARGET_PEER)];
    const mark = ok && g && typeof g !== 'string' ? (ok(g.median) ? ' ✓' : ' ✗') : '';
    rows.push([label, ...text, target ? target + mark : '']);
  };
  const na = (peer: string): string | null => (res.peers[peer]?.status === 'ok' ? null : 'n/a');

  const series = <R extends { round: number }>(table: Record<string, R[]> | undefined, peer: string, f: Pick<R>): Spread | null =>
    spread((table?.[peer] ?? []).map((r) => f(r)));
  const vs = <R extends { round: number }>(table: Record<string, R[]> | undefined, peer: string, ref: string, f: Pick<R>, ratio = false): Spread | null => {
    const refRounds = new Map((table?.[ref] ?? []).map((r) => [r.round, f(r)]));
    return spread(
      (table?.[peer] ?? []).map((r) => {
        const a = f(r);
        const b = refRounds.get(r.round);
        if (a == null || b == null) return null;
        return ratio ? a / b : a - b;
      }),
    );
  };
  const cellsFor = (fn: (peer: string) => Spread | null | string, only?: (peer: string) => boolean): Array<Spread | null | string> =>
    names.map((p) => na(p) ?? (only && !only(p) ? '—' : fn(p)));
  const notRef = (...refs: string[]) => (p: string): boolean => !refs.includes(p);

  const u1 = res.unary.c1;
  const u64 = res.unary.c64;
  const lat = (k: 'p50' | 'p99'): Pick<UnaryRound> => (r) => r.res.latencyMs[k];
  if (u1) {
    add('unary c=1 p50 latency (ms)', cellsFor((p) => series(u1, p, lat('p50'))), 3);
    add('unary c=1 p99 latency (ms)', cellsFor((p) => series(u1, p, lat('p99'))), 3);
    add('unary c=1 added p50 vs direct (ms)', cellsFor((p) => vs(u1, p, 'direct', lat('p50')), notRef('direct')), 3);
    add('unary c=1 added p99 vs direct (ms)', cellsFor((p) => vs(u1, p, 'direct', lat('p99')), notRef('direct')), 3);
    add('unary c=1 added p50 vs bare (ms)', cellsFor((p) => vs(u1, p, 'bare', lat('p50')), notRef('direct', 'bare')), 3, '≤ 0.5', (v) => v <= 0.5);
    add('unary c=1 added p99 vs bare (ms)', cellsFor((p) => vs(u1, p, 'bare', lat('p99')), notRef('direct', 'bare')), 3);
  }
  if (u64) {
    add('unary c=64 throughput (req/s)', cellsFor((p) => series(u64, p, (r) => r.res.rps)), 0);
    add('unary c=64 throughput × bare', cellsFor((p) => vs(u64, p, 'bare', (r) => r.res.rps, true), notRef('direct', 'bare')), 2, '≥ 0.7', (v) => v >= 0.7);
    add('unary c=64 p99 latency (ms)', cellsFor((p) => series(u64, p, lat('p99'))), 2);
    const cpuPerReq: Pick<UnaryRound> = (r) => (r.peerCpuMs == null ? null : (r.peerCpuMs * 1000) / r.res.requests);
    add('unary c=64 peer CPU per request (µs)', cellsFor((p) => series(u64, p, cpuPerReq), notRef('direct')), 1);
    const mainPerReq: Pick<UnaryRound> = (r) => (r.peerMainThreadCpuMs == null ? null : (r.peerMainThreadCpuMs * 1000) / r.res.requests);
    add('unary c=64 peer main-thread CPU per request (µs)', cellsFor((p) => series(u64, p, mainPerReq), notRef('direct')), 1);
    add('unary c=64 peer CPU per request × bare', cellsFor((p) => vs(u64, p, 'bare', cpuPerReq, true), notRef('direct', 'bare')), 2, '≤ 1.4', (v) => v <= 1.4);
    add('unary c=64 peer CPU per request × gateway', cellsFor((p) => vs(u64, p, 'gateway', cpuPerReq, true), (p) => p.startsWith('gateway-')), 3);
    add('event-loop delay p99 during c=64 (ms)', cellsFor((p) => series(u64, p, (r) => r.eventLoopDelayP99Ms), notRef('direct')), 2, '≤ 5', (v) => v <= 5);
  }
  for (const [c, table] of Object.entries(res.sse)) {
    const big = Number(c) >= 512;
    const s = (f: (x: SseResult) => number): Pick<SseRound> => (r) => f(r.res);
    add(`SSE ${c}: TTFF p50 (ms)`, cellsFor((p) => series(table, p, s((x) => x.ttffMs.p50))), 2);
    add(`SSE ${c}: TTFF p99 (ms)`, cellsFor((p) => series(table, p, s((x) => x.ttffMs.p99))), 2);
    add(`SSE ${c}: added TTFF p50 vs direct (ms)`, cellsFor((p) => vs(table, p, 'direct', s((x) => x.ttffMs.p50)), notRef('direct')), 2);
    add(`SSE ${c}: added TTFF p50 vs bare (ms)`, cellsFor((p) => vs(table, p, 'bare', s((x) => x.ttffMs.p50)), notRef('direct', 'bare')), 2, big ? '≤ 5' : '', (v) => v <= 5);
    add(`SSE ${c}: added TTFF p99 vs bare (ms)`, cellsFor((p) => vs(table, p, 'bare', s((x) => x.ttffMs.p99)), notRef('direct', 'bare')), 2, big ? '≤ 15' : '', (v) => v <= 15);
    add(`SSE ${c}: inter-frame gap p99 (ms)`, cellsFor((p) => series(table, p, s((x) => x.gapMs.p99))), 2);
    add(`SSE ${c}: added gap p99 vs direct (ms)`, cellsFor((p) => vs(table, p, 'direct', s((x) => x.gapMs.p99)), notRef('direct')), 2);
    add(`SSE ${c}: added gap p99 vs bare (ms)`, cellsFor((p) => vs(table, p, 'bare', s((x) => x.gapMs.p99)), notRef('direct', 'bare')), 2, big ? '≤ 2' : '', (v) => v <= 2);
    add(
      `SSE ${c}: frames lost / merged / altered (all rounds)`,
      cellsFor((p) => {
        const rs = table[p] ?? [];
        const sum = (f: (x: SseResult) => number): number => rs.reduce((a, r) => a + f(r.res), 0);
        const sent = sum((x) => x.framesExpected);
        return `${sum((x) => x.lost)} / ${sum((x) => x.merged)} / ${sum((x) => x.altered + x.extra)} of ${sent}`;
      }),
      0,
      '0 / 0 / 0',
    );
    const cpuPerFrame: Pick<SseRound> = (r) => (r.peerCpuMs == null ? null : (r.peerCpuMs * 1000) / r.res.framesExpected);
    add(`SSE ${c}: peer CPU per frame (µs)`, cellsFor((p) => series(table, p, cpuPerFrame), notRef('direct')), 1);
    add(`SSE ${c}: peer CPU per frame × bare`, cellsFor((p) => vs(table, p, 'bare', cpuPerFrame, true), notRef('direct', 'bare')), 2);
    add(`SSE ${c}: peer CPU per frame × gateway`, cellsFor((p) => vs(table, p, 'gateway', cpuPerFrame, true), (p) => p.startsWith('gateway-')), 3);
    add(`SSE ${c}: peak RSS (MB)`, cellsFor((p) => series(table, p, (r) => (r.rssPeakBytes == null ? null : r.rssPeakBytes / 2 ** 20)), notRef('direct')), 1);
    const mem = res.mem[c];
    const perStream: Pick<MemRound> = (r) => r.perStreamKiB;
    add(`SSE ${c}: RSS per open stream (KiB, fresh process)`, cellsFor((p) => series(mem, p, perStream), notRef('direct')), 1);
    add(
      `SSE ${c}: RSS per open stream × bare`,
      cellsFor((p) => {
        const mine = series(mem, p, perStream);
        const ref = series(mem, 'bare', perStream);
        return mine && ref ? spread([mine.median / ref.median]) : null;
      }, notRef('direct', 'bare')),
      2,
      big ? '≤ 1.25' : '',
      (v) => v <= 1.25,
    );
    add(`SSE ${c}: load-side event-loop delay p99 (ms)`, cellsFor((p) => series(table, p, (r) => r.clientLoopDelayP99Ms)), 1);
  }
  if (Object.keys(res.soak).length) {
    add('RSS after 10k requests (MB)', cellsFor((p) => spread([res.soak[p]?.rss10kBytes == null ? null : res.soak[p]!.rss10kBytes! / 2 ** 20]), (p) => !!res.soak[p]), 1);
    add('RSS after 100k requests (MB)', cellsFor((p) => spread([res.soak[p]?.rss100kBytes == null ? null : res.soak[p]!.rss100kBytes! / 2 ** 20]), (p) => !!res.soak[p]), 1);
    add('RSS growth 10k → 100k (%)', cellsFor((p) => spread([res.soak[p]?.growthPct]), (p) => !!res.soak[p]), 1, '≤ 10', (v) => v <= 10);
  }
  const noise = (p: string, k: 'foreignPct' | 'stealPct'): Spread | null =>
    spread([...Object.values(res.unary), ...Object.values(res.sse)].flatMap((t) => (t[p] ?? []).map((r: UnaryRound | SseRound) => r[k])));
  add('other jobs\' CPU during timed rounds (% of machine)', cellsFor((p) => noise(p, 'foreignPct')), 1, 'quiet: < 2');
  add('hypervisor steal during timed rounds (%)', cellsFor((p) => noise(p, 'stealPct')), 1);
  for (const [label, w] of [['', res.writer], [', Postgres', res.writerPg ?? null]] as const) {
    const wCell = w && typeof w.rowsPerSec === 'number' ? `${fmt(w.rowsPerSec, 0)} (batch ${fmt(w.msPerBatch as number, 2)} ms / ${w.batchSize as number} rows)` : `n/a${w?.error ? ` (${String(w.error).slice(0, 80)})` : ''}`;
    const wOk = w && typeof w.rowsPerSec === 'number' ? (w.rowsPerSec >= 20_000 ? ' ✓' : ' ✗') : '';
    rows.push([`usage writer throughput, isolated${label} (rows/s)`, ...names.map((p) => (p === TARGET_PEER ? wCell : '—')), `≥ 20000${wOk}`]);
    if (w && typeof w.mainThreadCpuUsPerRow === 'number') {
      rows.push([`usage writer${label}: event-loop thread CPU per row (µs)`, ...names.map((p) => (p === TARGET_PEER ? fmt(w.mainThreadCpuUsPerRow as number, 2) : '—')), '']);
    }
  }

  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  return [header, header.map(() => '---'), ...rows].map((r) => `| ${r.map(esc).join(' | ')} |`).join('\n');
}
