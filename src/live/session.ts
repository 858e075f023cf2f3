import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { WebSocket, type RawData } from 'ws';
import type { Principal } from '../auth/principal.js';
import { compileScopes, scopeViolation } from '../auth/scopes.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { GatewayMetrics } from '../metrics/metrics.js';
import type { Recorder } from '../metering/recorder.js';
import type { Outcome } from '../metering/row.js';
import type { Usage } from '../metering/usage.js';
import type { UpstreamKeyPool } from '../proxy/key-pool.js';
import type { Lease, Quotas } from '../quota/quotas.js';
import type { Caller } from './admission.js';
import type { ResumptionHandles } from './handles.js';
import { relay, type Relay, type RelayEnd } from './relay.js';
import { CLOSE, closeReason, constrainSetup, INVALID_ARGUMENT_REASON, looksLikeJsonObject, parseSetup } from './setup.js';
import { TurnMeter } from './usage.js';

export interface SessionDeps {
  log: Logger;
  metrics: GatewayMetrics;
  clock: Clock;
  recorder: Recorder;
  quotas: Quotas;
  keyPool: UpstreamKeyPool;
  handles: ResumptionHandles;
  /** ws(s)://host[/base] of Google's Live endpoint. */
  upstreamOrigin: string;
  /** How long a client may take to send its setup message. */
  setupTimeoutMs: number;
}

export interface SessionStart {
  requestId: string;
  caller: Caller;
  apiVersion: string;
  /** Upstream path + query (credentials removed). */
  target: string;
  upstreamKey: { id: string | null; secret: string };
  lease: Lease;
  /** Client headers worth passing on (user-agent, x-goog-api-client). */
  headers: Record<string, string>;
  address: string | undefined;
  onEnd: () => void;
}

const NEW_HANDLE = Buffer.from('"newHandle"');

/**
 * One Live session from the client's upgrade to the last close. The client's first frame must be a
 * JSON `setup`; it is checked (model within the key's scopes, ephemeral-token constraints, resumption
 * handle owned by this project) before anything is sent upstream. Then frames are relayed unchanged,
 * every server frame is metered (per-turn usage rows, quota charged per turn, hard cap closes with
 * 1008), and the session ends with one `live_session` row.
 */
export function runSession(client: WebSocket, s: SessionStart, deps: SessionDeps): { close(code: number, reason: string): void } {
  const startedWall = deps.clock.now();
  const startedAt = performance.now();
  const { principal, grant } = s.caller;
  const meter = new TurnMeter();
  let model: string | null = null;
  let upstreamKeyId = s.upstreamKey.id;
  let upstream: WebSocket | null = null;
  let link: Relay | null = null;
  let outcome: Outcome | null = null;
  let ttfbMs: number | null = null;
  let turnStartedAt = startedAt;
  let done = false;
  const queued: Array<{ data: Buffer; isBinary: boolean }> = [];

  const setupTimer = setTimeout(() => refuse(CLOSE.invalid, INVALID_ARGUMENT_REASON), deps.setupTimeoutMs).unref();
  const expiryTimer = grant ? setTimeout(() => gatewayClose(CLOSE.policy, 'Ephemeral token expired.', 'gateway_error'), Math.max(0, grant.expiresAt - startedWall)).unref() : null;

  const early = (raw: RawData, isBinary: boolean) => {
    const data = Buffer.isBuffer(raw) ? raw : Array.isArray(raw) ? Buffer.concat(raw) : Buffer.from(raw);
    if (model === null && queued.length === 0 && upstream === null) return onSetup(data, isBinary);
    // Frames sent while upstream connects wait, in order, and get the same check as relayed ones.
    if (!isBinary && !looksLikeJsonObject(data)) return refuse(CLOSE.invalid, INVALID_ARGUMENT_REASON);
    queued.push({ data, isBinary });
  };
  client.on('message', early);
  client.on('error', () => client.terminate());
  client.on('close', (code, reason) => {
    if (link) return; // the relay reports the end
    if (upstream && upstream.readyState !== upstream.CLOSED) upstream.terminate();
    finish({ by: 'client', code, reason: reason.toString('utf8'), bytesIn: 0, bytesOut: 0 }, outcome ?? 'client_aborted');
  });

  function refuse(code: number, reason: string, why: Outcome = 'gateway_error'): void {
    outcome ??= why;
    if (client.readyState === client.OPEN) client.close(code, closeReason(reason));
    else if (client.readyState !== client.CLOSING && client.readyState !== client.CLOSED) client.terminate();
  }

  function onSetup(data: Buffer, isBinary: boolean): void {
    // Google reads a setup sent as a binary frame too; the frame goes upstream as it came.
    const parsed = parseSetup(data);
    if (!parsed.ok) return refuse(CLOSE.invalid, INVALID_ARGUMENT_REASON);
    let frame: Buffer | string = data;
    let setup = parsed.setup;
    if (grant) {
      const constrained = constrainSetup(setup, grant.setup, grant.fieldMask);
      if (constrained) {
        setup = constrained;
        frame = JSON.stringify({ ...parsed.message, setup });
      }
    }
    model = typeof setup.model === 'string' ? setup.model.replace(/^models\//, '') : null;
    const denied = scopeDenied(principal, model, s.address);
    if (denied) return refuse(CLOSE.policy, denied);
    const handle = (setup.sessionResumption as { handle?: unknown } | undefined)?.handle;
    if (typeof handle === 'string' && handle !== '') {
      const owner = deps.handles.owner(handle);
      if (owner && owner.projectId !== principal.projectId) return refuse(CLOSE.policy, 'Session resumption handle not found.');
      // Google keeps a session with the key (project) that opened it: resume on that key.
      const pinned = owner?.upstreamKeyId ? deps.keyPool.get(owner.upstreamKeyId) : null;
      if (pinned && principal.upstreamKeyId === null) {
        s.upstreamKey = pinned;
        upstreamKeyId = pinned.id;
      }
    }
    queued.push({ data: Buffer.isBuffer(frame) ? frame : Buffer.from(frame), isBinary: isBinary && frame === data });
    connect();
  }

  function connect(): void {
    const ws = new WebSocket(deps.upstreamOrigin + s.target, {
      headers: { ...s.headers, 'x-goog-api-key': s.upstreamKey.secret },
      autoPong: false,
      perMessageDeflate: false,
      maxPayload: 256 * 1024 * 1024,
      handshakeTimeout: 30_000,
    });
    upstream = ws;
    ws.on('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 502;
      if (status === 429 && upstreamKeyId) deps.keyPool.report(upstreamKeyId, { kind: 'cooldown', delayMs: null });
      res.resume();
      refuse(CLOSE.internal, `Upstream refused the session (HTTP ${status}).`, 'upstream_error');
      ws.terminate();
    });
    ws.on('error', () => {
      if (!link && outcome === null) refuse(CLOSE.internal, 'Upstream unavailable.', 'upstream_aborted');
    });
    ws.on('open', () => {
      clearTimeout(setupTimer);
      if (client.readyState !== client.OPEN) return void ws.close();
      client.off('message', early);
      link = relay(client, ws, { fromClient, fromServer, ended: (end) => finish(end, outcomeOf(end)) });
      for (const f of queued.splice(0)) link.sendUpstream(f.data, f.isBinary);
    });
  }

  function fromClient(data: Buffer, isBinary: boolean): boolean {
    if (isBinary || looksLikeJsonObject(data)) return true;
    gatewayClose(CLOSE.invalid, INVALID_ARGUMENT_REASON, 'gateway_error');
    return false;
  }

  function fromServer(data: Buffer): void {
    ttfbMs ??= performance.now() - startedAt;
    if (data.includes(NEW_HANDLE)) rememberHandle(data);
    const turn = meter.push(data);
    if (!turn.completed) return;
    const now = performance.now();
    if (turn.usage) {
      recordTurn(turn.usage, 'ok', now);
      const cut = deps.quotas.charge(s.lease, turn.usage.totalTokens, model, deps.clock.now());
      if (cut) gatewayClose(CLOSE.policy, cut.message, 'quota_cut');
    }
    turnStartedAt = now;
  }

  function rememberHandle(data: Buffer): void {
    try {
      const h = (JSON.parse(data.toString('utf8')) as { sessionResumptionUpdate?: { newHandle?: unknown } }).sessionResumptionUpdate?.newHandle;
      if (typeof h === 'string' && h !== '') deps.handles.remember(h, { projectId: principal.projectId, upstreamKeyId });
    } catch {
      // Not JSON: nothing to remember; the frame was relayed as is.
    }
  }

  function gatewayClose(code: number, reason: string, why: Outcome): void {
    if (link) {
      outcome ??= why;
      link.close(code, closeReason(reason));
    } else refuse(code, reason, why);
  }

  function recordTurn(usage: Usage, rowOutcome: Outcome, now: number): void {
    const labels = { tenant: principal.tenantSlug, project: principal.projectSlug, model: model ?? 'unknown' };
    for (const [kind, n] of [['prompt', usage.promptTokens], ['cached', usage.cachedTokens], ['output', usage.outputTokens], ['thoughts', usage.thoughtsTokens]] as const) {
      if (n > 0) deps.metrics.tokens.inc({ ...labels, kind }, n);
    }
    deps.recorder.record({
      createdAt: deps.clock.now(), requestId: s.requestId, tenantId: principal.tenantId, projectId: principal.projectId, keyId: principal.keyId,
      upstreamKeyId, method: 'GET', apiVersion: s.apiVersion, endpoint: 'live', model, stream: 1, status: 101, outcome: rowOutcome, usage,
      ttfbMs: null, latencyMs: Math.round(now - turnStartedAt), bytesIn: 0, bytesOut: 0,
    });
  }

  function outcomeOf(end: RelayEnd): Outcome {
    if (outcome) return outcome;
    if (end.by === 'client') return end.code === 1006 ? 'client_aborted' : 'ok';
    if (end.code === 1000) return 'ok';
    return end.code === 1006 ? 'upstream_aborted' : 'upstream_error';
  }

  function finish(end: RelayEnd, finalOutcome: Outcome): void {
    if (done) return;
    done = true;
    clearTimeout(setupTimer);
    if (expiryTimer) clearTimeout(expiryTimer);
    const now = performance.now();
    // A session that ends mid-turn still pays for what that turn reported so far.
    const partial = meter.open();
    if (partial) {
      recordTurn(partial, finalOutcome, now);
      deps.quotas.charge(s.lease, partial.totalTokens, model, deps.clock.now());
    }
    // Counted as a request exactly when its row counts as one (quota/persist.ts rowCharge).
    const forwarded = finalOutcome !== 'gateway_error';
    deps.quotas.settle(s.lease, { forwarded, tokens: 0, model }, deps.clock.now());
    const durationMs = Math.round(now - startedAt);
    const summary = { turns: meter.turns, closeCode: end.code, closeReason: end.reason, closedBy: end.by, ...(grant ? { authToken: grant.id } : {}) };
    deps.recorder.record({
      createdAt: deps.clock.now(), requestId: s.requestId, tenantId: principal.tenantId, projectId: principal.projectId, keyId: principal.keyId,
      upstreamKeyId, method: 'GET', apiVersion: s.apiVersion, endpoint: 'live_session', model, stream: 1, status: end.code,
      // The session row holds no tokens (its turns have them): its usage_json is the session summary.
      outcome: finalOutcome, usage: { promptTokens: 0, cachedTokens: 0, outputTokens: 0, thoughtsTokens: 0, toolUsePromptTokens: 0, totalTokens: 0, json: JSON.stringify(summary) },
      ttfbMs: ttfbMs === null ? null : Math.round(ttfbMs), latencyMs: durationMs, bytesIn: end.bytesIn, bytesOut: end.bytesOut,
    });
    deps.metrics.requests.inc({ tenant: principal.tenantSlug, project: principal.projectSlug, endpoint: 'live_session', status: String(end.code) });
    deps.log.info(
      { requestId: s.requestId, tenant: principal.tenantSlug, project: principal.projectSlug, keyPrefix: principal.keyPrefix, endpoint: 'live_session', model, closeCode: end.code, closedBy: end.by, outcome: finalOutcome, turns: meter.turns, ms: durationMs },
      'live session ended',
    );
    s.onEnd();
  }

  return {
    close(code, reason) {
      gatewayClose(code, reason, 'client_aborted');
    },
  };
}

function scopeDenied(p: Principal, model: string | null, address: string | undefined): string | null {
  const s = p.scopes;
  if (!s.models && !s.endpoints && !s.cidrs) return null;
  if (s.models && model === null) return `This API key may only call models ${s.models.join(', ')}; the setup names no model.`;
  return scopeViolation(compileScopes(s), { endpoint: 'live', model, address });
}

export const newSessionId = (): string => randomUUID();
