import type { Principal } from '../../exchange/principal.js';
import type { Outcome, UsageRow } from '../../metering/row.js';
import type { Usage } from '../../metering/usage.js';

/** What every row of one Live session shares. */
export interface SessionIdentity {
  requestId: string;
  principal: Principal;
  apiVersion: string;
  upstreamKeyId: string | null;
  model: string | null;
}

/** One completed (or, at the end, unfinished) turn: endpoint `live`, its usage, its duration. */
export function turnRow(id: SessionIdentity, usage: Usage, outcome: Outcome, latencyMs: number, now: number): UsageRow {
  return { ...common(id, now), endpoint: 'live', status: 101, outcome, usage, ttfbMs: null, latencyMs: Math.round(latencyMs), bytesIn: 0, bytesOut: 0 };
}

export interface SessionEnd {
  code: number;
  reason: string;
  by: 'client' | 'upstream' | 'gateway';
  outcome: Outcome;
  turns: number;
  durationMs: number;
  ttfbMs: number | null;
  bytesIn: number;
  bytesOut: number;
  authTokenId: string | null;
}

/**
 * The row that closes a session: endpoint `live_session`, status = close code, latency = duration.
 * It holds no tokens (its turns have them), so its usage is zeros with the session summary as JSON.
 */
export function sessionRow(id: SessionIdentity, end: SessionEnd, now: number): UsageRow {
  const summary = { turns: end.turns, closeCode: end.code, closeReason: end.reason, closedBy: end.by, ...(end.authTokenId ? { authToken: end.authTokenId } : {}) };
  return {
    ...common(id, now),
    endpoint: 'live_session',
    status: end.code,
    outcome: end.outcome,
    usage: { promptTokens: 0, cachedTokens: 0, outputTokens: 0, thoughtsTokens: 0, toolUsePromptTokens: 0, totalTokens: 0, json: JSON.stringify(summary) },
    ttfbMs: end.ttfbMs === null ? null : Math.round(end.ttfbMs),
    latencyMs: Math.round(end.durationMs),
    bytesIn: end.bytesIn,
    bytesOut: end.bytesOut,
  };
}

function common(id: SessionIdentity, now: number) {
  const p = id.principal;
  return {
    createdAt: now, requestId: id.requestId, tenantId: p.tenantId, projectId: p.projectId, keyId: p.keyId,
    upstreamKeyId: id.upstreamKeyId, method: 'GET', apiVersion: id.apiVersion, model: id.model, stream: 1 as const,
  };
}
