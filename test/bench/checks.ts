// Correctness checks that need more than a response: what the upstream saw, what the gateway metered.
import { PROMPT_TOKENS, UNARY_OUTPUT_TOKENS, streamOutputTokens } from './payloads.js';
import { httpGet } from './procs.js';

/** Successful requests the harness sent to one peer (every one must become exactly one 'ok' row). */
export interface Sent {
  unaryOk: number;
  streamsOk: number;
  /** Unary requests wrk may have left in flight when it stopped (each may still become a row). */
  slack: number;
}

export interface MockStats {
  unary: number;
  streams: number;
  rejected: number;
  rejectedKeys: string[];
  notFound: number;
  openStreams: number;
}

export async function mockStats(mockUrl: string): Promise<MockStats> {
  return JSON.parse((await httpGet(`${mockUrl}/__mock/stats`)).body) as MockStats;
}

/** GET /internal/stats (reset=1 clears the peer's histogram after reading); null if not served. */
export async function peerStats(statsUrl: string | null, reset = false): Promise<{ eventLoopDelayP99Ms: number | null; rssBytes: number | null } | null> {
  if (!statsUrl) return null;
  try {
    const r = await httpGet(statsUrl + (reset ? '?reset=1' : ''));
    if (r.status !== 200) return null;
    const j = JSON.parse(r.body) as { eventLoopDelayP99Ms?: unknown; rssBytes?: unknown };
    return {
      eventLoopDelayP99Ms: typeof j.eventLoopDelayP99Ms === 'number' ? j.eventLoopDelayP99Ms : null,
      rssBytes: typeof j.rssBytes === 'number' ? j.rssBytes : null,
    };
  } catch {
    return null;
  }
}

/**
 * Opens the gateway's database after it exited and checks usage_events against what was sent:
 * one 'ok' row per successful request (unary rows may exceed by `slack` when wrk left requests in
 * flight), and token columns equal to the mock's usageMetadata (final cumulative value for streams).
 */
export async function verifyRows(dbPath: string, sent: Sent, frames: number): Promise<{ summary: Record<string, number>; problems: string[] }> {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const n = (sql: string, ...params: unknown[]): number => (db.prepare(sql).get(...params) as { n: number }).n;
    const out = streamOutputTokens(frames);
    /** ok rows of one kind whose tokens are not exactly what the mock reported. */
    const badTokens = (stream: 0 | 1, output: number): number =>
      n(
        `SELECT count(*) AS n FROM usage_events WHERE outcome = 'ok' AND stream = ?
         AND NOT (prompt_tokens IS ? AND output_tokens IS ? AND total_tokens IS ?)`,
        stream, PROMPT_TOKENS, output, PROMPT_TOKENS + output,
      );
    const summary = {
      rows: n('SELECT count(*) AS n FROM usage_events'),
      okUnaryRows: n(`SELECT count(*) AS n FROM usage_events WHERE outcome = 'ok' AND stream = 0`),
      okStreamRows: n(`SELECT count(*) AS n FROM usage_events WHERE outcome = 'ok' AND stream = 1`),
      badUnaryTokens: badTokens(0, UNARY_OUTPUT_TOKENS),
      badStreamTokens: badTokens(1, out),
      sentUnaryOk: sent.unaryOk,
      sentStreamsOk: sent.streamsOk,
    };
    const problems: string[] = [];
    const slack = sent.slack;
    if (summary.okUnaryRows < sent.unaryOk || summary.okUnaryRows > sent.unaryOk + slack) {
      problems.push(`gateway rows: ${summary.okUnaryRows} ok unary rows for ${sent.unaryOk} successful requests${slack ? ` (+≤${slack} in flight)` : ''}`);
    }
    if (summary.okStreamRows !== sent.streamsOk) problems.push(`gateway rows: ${summary.okStreamRows} ok stream rows for ${sent.streamsOk} streams`);
    if (summary.badUnaryTokens) problems.push(`gateway rows: ${summary.badUnaryTokens} unary rows with tokens ≠ ${PROMPT_TOKENS}/${UNARY_OUTPUT_TOKENS}`);
    if (summary.badStreamTokens) problems.push(`gateway rows: ${summary.badStreamTokens} stream rows with tokens ≠ ${PROMPT_TOKENS}/${out} (final cumulative usage)`);
    return { summary, problems };
  } finally {
    db.close();
  }
}
