import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { WebSocket, type RawData } from 'ws';
import type { Clock } from '../../clock.js';
import type { Logger } from '../../logger.js';
import { closeCodeLabel, type GatewayMetrics } from '../../metrics/metrics.js';
import type { Ledger } from '../../ledger/ledger.js';
import type { Outcome } from '../../metering/row.js';
import type { Usage } from '../../metering/usage.js';
import type { UpstreamKeyPool } from '../../upstream/key-pool.js';
import type { Lease, Quotas } from '../../quota/quotas.js';
import type { Caller } from './admission.js';
import { admitSetup } from './setup-admission.js';
import { sessionRow, turnRow } from './rows.js';
import type { ResumptionHandles } from '../../live/handles.js';
import { relay, type Relay, type RelayEnd } from './relay.js';
import { CLOSE, closeReason, INVALID_ARGUMENT_REASON, looksLikeJsonObject, TOKEN_EXPIRED_REASON } from '../../live/setup.js';
import { TurnMeter } from '../../live/usage.js';
import { redactSecrets } from '../../redact.js';
import type { LiveSessionTrace } from '../../telemetry/live.js';

export interface SessionDeps {
  log: Logger;
  metrics: GatewayMetrics;
  clock: Clock;
  recorder: Ledger;
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
  /** The session's spans, when OpenTelemetry is on. */
  trace: LiveSessionTrace | null;
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
  let setupSeen = false;
  const queued: Array<{ data: Buffer; isBinary: boolean }> = [];
  let queuedBytes = 0;

  const setupTimer = setTimeout(() => refuse(CLOSE.invalid, INVALID_ARGUMENT_REASON), deps.setupTimeoutMs).unref();
  const expiryTimer = grant ? setTimeout(() => gatewayClose(CLOSE.policy, TOKEN_EXPIRED_REASON, 'token_expired'), Math.max(0, grant.expiresAt - startedWall)).unref() : null;

  const early = (raw: RawData, isBinary: boolean) => {
    const data = Buffer.isBuffer(raw) ? raw : Array.isArray(raw) ? Buffer.concat(raw) : Buffer.from(raw);
    if (outcome !== null) return; // refused: nothing more is read, let alone forwarded
    if (!setupSeen) {
      setupSeen = true;
      return onSetup(data, isBinary);
    }
    // Frames sent while upstream connects wait, in order, and get the same check as relayed ones.
    if (!isBinary && !looksLikeJsonObject(data)) return refuse(CLOSE.invalid, INVALID_ARGUMENT_REASON);
    queued.push({ data, isBinary });
    queuedBytes += data.length;
    // Past this, the client is not read until upstream is open (resumed in connect()).
    if (queuedBytes > 1024 * 1024 && !client.isPaused) client.pause();
  };
  client.on('message', early);
  client.on('error', () => client.terminate());
  client.on('close', (code, reason) => {
    if (link) return; // the relay reports the end
    if (upstream && upstream.readyState !== upstream.CLOSED) upstream.terminate();
    // An outcome set before the relay means the gateway closed it (refuse), not the client.
    finish({ by: outcome === null ? 'client' : 'gateway', code, reason: scrubReason(reason.toString('utf8')), bytesIn: 0, bytesOut: 0 }, outcome ?? 'client_aborted');
  });

  function refuse(code: number, reason: string, why: Outcome = 'gateway_error'): void {
    outcome ??= why;
    // A paused client would never read the answer to our close frame.
    if (client.isPaused) client.resume();
    if (client.readyState === client.OPEN) client.close(code, closeReason(reason));
    else if (client.readyState !== client.CLOSING && client.readyState !== client.CLOSED) client.terminate();
  }

  function onSetup(data: Buffer, isBinary: boolean): void {
    const checked = admitSetup(data, isBinary, { principal, grant, address: s.address, handles: deps.handles, keyPool: deps.keyPool });
    if (!checked.ok) return refuse(checked.code, checked.reason);
    model = checked.model;
    if (checked.resumeOn) {
      s.upstreamKey = checked.resumeOn;
      upstreamKeyId = checked.resumeOn.id;
    }
    queued.push(checked.frame);
    connect();
  }

  function connect(): void {
    const ws = new WebSocket(deps.upstreamOrigin + s.target, {
      headers: { ...s.headers, ...s.trace?.upstream(deps.upstreamOrigin + s.target), 'x-goog-api-key': s.upstreamKey.secret },
      autoPong: false,
      perMessageDeflate: false,
      maxPayload: 256 * 1024 * 1024,
      handshakeTimeout: 30_000,
    });
    upstream = ws;
    ws.on('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 502;
      s.trace?.upstreamStatus(status);
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
      s.trace?.upstreamStatus(101);
      if (client.readyState !== client.OPEN) return void ws.close();
      client.off('message', early);
      link = relay(client, ws, { fromClient, fromServer, closeReason: scrubReason, ended: (end) => finish(end, outcomeOf(end)) });
      for (const f of queued.splice(0)) link.sendUpstream(f.data, f.isBinary);
      if (client.isPaused) client.resume();
    });
  }

  // Upstream may quote the key it was given (Google: "Consumer 'api_key:…' has been suspended"),
  // and a client anything; the reason reaches the other side and the live_session row.
  function scrubReason(reason: string): string {
    return closeReason(redactSecrets(reason, [s.upstreamKey.secret]));
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

  const identity = () => ({ requestId: s.requestId, principal, apiVersion: s.apiVersion, upstreamKeyId, model });

  function recordTurn(usage: Usage, rowOutcome: Outcome, now: number): void {
    const labels = { tenant: principal.tenantSlug, project: principal.projectSlug, model: model ?? 'unknown' };
    for (const [kind, n] of [['prompt', usage.promptTokens], ['cached', usage.cachedTokens], ['output', usage.outputTokens], ['thoughts', usage.thoughtsTokens]] as const) {
      if (n > 0) deps.metrics.tokens.inc({ ...labels, kind }, n);
    }
    deps.recorder.record(turnRow(identity(), usage, rowOutcome, now - turnStartedAt, deps.clock.now()));
    s.trace?.turn(usage, rowOutcome, now - turnStartedAt, model);
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
    deps.recorder.record(sessionRow(identity(), {
      code: end.code, reason: end.reason, by: end.by, outcome: finalOutcome, turns: meter.turns, durationMs, ttfbMs,
      bytesIn: end.bytesIn, bytesOut: end.bytesOut, authTokenId: grant?.id ?? null,
    }, deps.clock.now()));
    deps.metrics.requests.inc({ tenant: principal.tenantSlug, project: principal.projectSlug, endpoint: 'live_session', status: closeCodeLabel(end.code) });
    s.trace?.end({ ...end, outcome: finalOutcome, turns: meter.turns, model, upstreamKeyId, ttfbMs });
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

export const newSessionId = (): string => randomUUID();
