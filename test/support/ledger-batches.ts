// Varied ledger batches for comparing sinks: every outcome, missing usage, media counts, Live rows,
// times that straddle hour, day and month boundaries, key touches and resource ops.
import type { LedgerBatch, ResourceOp } from '../../src/ledger/batch.js';
import type { Outcome, UsageRow } from '../../src/metering/row.js';
import type { Usage } from '../../src/metering/usage.js';
// Deterministic, so a failing comparison can be replayed.
import { mulberry32 as random } from './sse-writer.js';

/** Tenants, projects and keys the rows and side records refer to (resources need the project to exist). */
export const ACCOUNTS = [
  { tenant: 'ten_a', project: 'prj_a1', keys: ['key_a1x', 'key_a1y'] },
  { tenant: 'ten_a', project: 'prj_a2', keys: ['key_a2x'] },
  { tenant: 'ten_b', project: 'prj_b1', keys: ['key_b1x'] },
] as const;

/** The SQL that creates ACCOUNTS; identical in both dialects. */
export function accountInserts(): string[] {
  const out: string[] = [];
  for (const t of new Set(ACCOUNTS.map((a) => a.tenant))) out.push(`INSERT INTO tenants (id, slug, name, created_at, updated_at) VALUES ('${t}', '${t}', '${t}', 1, 1)`);
  for (const a of ACCOUNTS) {
    out.push(`INSERT INTO projects (id, tenant_id, slug, name, created_at, updated_at) VALUES ('${a.project}', '${a.tenant}', '${a.project}', '${a.project}', 1, 1)`);
    for (const k of a.keys) out.push(`INSERT INTO api_keys (id, project_id, prefix, hash, created_at, updated_at) VALUES ('${k}', '${a.project}', '${k}', 'h_${k}', 1, 1)`);
  }
  return out;
}

const OUTCOMES: Outcome[] = ['ok', 'ok', 'ok', 'upstream_error', 'client_aborted', 'upstream_aborted', 'upstream_timeout', 'gateway_error', 'quota_cut', 'token_expired'];
const ENDPOINTS = ['generateContent', 'streamGenerateContent', 'embedContent', 'live', 'live_session', 'predict'];
const MODELS = [null, 'gemini-2.5-flash', 'gemini-2.5-pro', 'imagen-4.0'];
// 2026-01-31T23:50Z: ten minutes before an hour, a day and a month end.
const T0 = Date.UTC(2026, 0, 31, 23, 50);

function usage(rnd: () => number): Usage | null {
  if (rnd() < 0.2) return null;
  const n = () => Math.floor(rnd() * 5000);
  const u: Usage = { promptTokens: n(), cachedTokens: rnd() < 0.3 ? n() : 0, outputTokens: n(), thoughtsTokens: rnd() < 0.3 ? n() : 0, toolUsePromptTokens: 0, totalTokens: 0, json: '' };
  if (rnd() < 0.2) u.inputAudioTokens = n();
  if (rnd() < 0.2) u.outputImageTokens = n();
  if (rnd() < 0.1) u.cacheStorageTokens = n();
  if (rnd() < 0.1) u.images = 1 + Math.floor(rnd() * 4);
  if (rnd() < 0.05) u.videoSeconds = 8;
  u.totalTokens = u.promptTokens + u.outputTokens + u.thoughtsTokens;
  u.json = JSON.stringify({ promptTokenCount: u.promptTokens, totalTokenCount: u.totalTokens, note: "quote ' and \" and \\ and {braces,}" });
  return u;
}

/** Row number i of a run: spread over 40 minutes around T0, latencies long enough to start in an earlier window. */
export function variedRow(rnd: () => number, i: number): UsageRow {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const a = pick(ACCOUNTS);
  const outcome = pick(OUTCOMES);
  const row: UsageRow = {
    createdAt: T0 + Math.floor(rnd() * 40 * 60_000),
    requestId: `req-${Math.floor(i / 3)}`, // Live turns and batch completions share request ids: only row_key is unique
    tenantId: a.tenant,
    projectId: a.project,
    keyId: pick(a.keys),
    upstreamKeyId: rnd() < 0.2 ? 'upk_1' : null,
    method: 'POST',
    apiVersion: rnd() < 0.1 ? null : 'v1beta',
    endpoint: pick(ENDPOINTS),
    model: pick(MODELS),
    stream: rnd() < 0.5 ? 1 : 0,
    status: outcome === 'ok' ? 200 : 500,
    outcome,
    usage: outcome === 'gateway_error' ? null : usage(rnd),
    ttfbMs: rnd() < 0.2 ? null : Math.floor(rnd() * 3000),
    latencyMs: Math.floor(rnd() * (rnd() < 0.1 ? 3_000_000 : 30_000)),
    bytesIn: Math.floor(rnd() * 3e9), // uploads pass int4
    bytesOut: Math.floor(rnd() * 1e6),
    rowKey: `rk-${i}`,
  };
  const cost = rnd();
  if (cost < 0.7) row.costNanoUsd = Math.floor(rnd() * 1e9);
  else if (cost < 0.9) row.costNanoUsd = null;
  return row;
}

/** Batches of varied sizes with key touches and resource ops (claims, metering, forgets, a re-claim). */
export function variedBatches(seed: number, rows: number): LedgerBatch[] {
  const rnd = random(seed);
  const all = Array.from({ length: rows }, (_, i) => variedRow(rnd, i));
  const batches: LedgerBatch[] = [];
  let op = 0;
  for (let i = 0; i < all.length; ) {
    const size = 1 + Math.floor(rnd() * 120);
    const slice = all.slice(i, i + size);
    i += size;
    const keyTouches = slice.filter(() => rnd() < 0.3).map((r) => [r.keyId, r.createdAt] as [string, number]);
    const resourceOps: ResourceOp[] = [];
    const a = ACCOUNTS[op % ACCOUNTS.length]!;
    const name = `files/f${op % 4}`;
    const at = T0 + op * 1000;
    resourceOps.push(
      op % 3 === 2
        ? { kind: 'forget', name }
        : { kind: 'claim', name, resourceKind: 'file', tenantId: a.tenant, projectId: a.project, upstreamKeyId: null, units: op % 2 ? 3 : null, keyId: op % 3 ? `key_${op}` : null, at },
    );
    if (op % 2 === 0) resourceOps.push({ kind: 'metered', name, at: at + 1 });
    op++;
    batches.push({ rows: slice, keyTouches, resourceOps, now: T0 + op * 1000 });
  }
  return batches;
}
