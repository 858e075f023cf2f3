import { STATUS_CODES, type IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { AppDeps } from '../../deps.js';
import { GatewayError, renderError, toGatewayError } from '../../errors.js';
import { shuttingDown } from '../front-door.js';
import type { Principal } from '../../exchange/principal.js';
import type { ProxyContext } from '../../exchange/stage.js';
import { createResumptionHandles } from '../../live/handles.js';
import { parseLiveTarget } from '../../live/path.js';
import { CLOSE } from '../../live/setup.js';
import { CLIENT_CLOSED_REQUEST } from '../../metering/row.js';
import type { LiveTokens } from '../../live/tokens.js';
import { compileScopes, scopeViolation } from '../../scopes/scopes.js';
import { createUpstreamKeyStage } from '../../upstream/own-key-stage.js';
import { createKeyStage } from '../../upstream/pool-stage.js';
import { envKeySecrets } from '../../upstream/key-pool.js';
import { authenticateLive } from './admission.js';
import { newSessionId, runSession, type SessionDeps } from './session.js';

export type LiveDeps = Omit<AppDeps, 'stages'> & { tokens: LiveTokens };

export interface LiveGateway {
  /** For `server.on('upgrade', …)`: a Live path is admitted or refused with an HTTP status; another WebSocket path gets 404, another protocol 400. */
  /** Never rejects: every failure is answered on the socket. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void>;
  /** Sessions open right now. */
  readonly open: number;
  /** Ends every open session (shutdown): clients get 1001 and each session still writes its rows. */
  closeAll(reason: string): void;
}

/** Headers of the client's upgrade worth passing on; everything else is the socket's own business. */
const PASSED_HEADERS = ['user-agent', 'x-goog-api-client', 'x-goog-user-project'];

/**
 * The Live API surface: the WebSocket upgrade on Google's Live paths. Authentication, scopes, the
 * upstream key (bring-your-own-key first, then the pool) and quota admission happen on the HTTP
 * upgrade request, so a refused caller gets an ordinary HTTP status and Google's error body; an
 * admitted one gets a session (session.ts) that holds its concurrency slot for as long as it lives.
 */
export function createLiveGateway(deps: LiveDeps): LiveGateway {
  const { config, log, clock, quotas, lifecycle, recorder } = deps;
  const wss = new WebSocketServer({ noServer: true, autoPong: false, perMessageDeflate: false, maxPayload: 256 * 1024 * 1024 });
  // The same steps the REST data plane uses to choose the upstream key.
  const keySteps = [createUpstreamKeyStage(deps), createKeyStage(deps.keyPool, config, log)];
  const sessions = new Set<{ close(code: number, reason: string): void }>();
  const base = new URL(config.LIVE_UPSTREAM_BASE_URL ?? config.UPSTREAM_BASE_URL);
  const sessionDeps: SessionDeps = {
    log, clock, recorder, quotas, metrics: deps.metrics, keyPool: deps.keyPool, handles: createResumptionHandles(),
    upstreamOrigin: `${base.protocol === 'http:' || base.protocol === 'ws:' ? 'ws' : 'wss'}://${base.host}${base.pathname.replace(/\/+$/, '')}`,
    setupTimeoutMs: 30_000,
  };
  // OpenTelemetry only when it is on; off, no session gets a trace object.
  const tracing = deps.telemetry ? deps.telemetry.live({ upstream: base, secrets: envKeySecrets(config) }) : null;

  return {
    get open() {
      return sessions.size;
    },
    closeAll(reason) {
      for (const s of [...sessions]) s.close(CLOSE.goingAway, reason);
    },
    async handleUpgrade(req, socket, head) {
      // Node's HTTP server leaves an upgraded socket without an 'error' listener, and admission
      // awaits (key lookup, token use): a reset then would be an uncaught error that ends the process.
      socket.on('error', ignoreSocketError);
      const requestId = newSessionId();
      const target = parseLiveTarget(req.url ?? '/', config.PUBLIC_PATH_PREFIX);
      const startedAt = performance.now();
      let admitted: Principal | null = null;
      const tr = tracing && target ? tracing.open(req.headers, requestId, target.apiVersion) : null;
      try {
        // Node hands every Upgrade request to this handler once it exists, so an h2c upgrade attempt
        // (curl --http2 on http://) lands here and cannot be served as plain HTTP any more: say so.
        if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') throw new GatewayError('invalid_argument', `Upgrade to ${String(req.headers.upgrade).slice(0, 32)} is not supported; send the request over plain HTTP/1.1 without Upgrade.`);
        if (!target) throw new GatewayError('not_found', 'Not a Live API path. It looks like /ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent.');
        if (lifecycle.draining) throw shuttingDown();
        if (config.METERING_FAILURE === 'closed' && recorder.saturated()) throw new GatewayError('unavailable', 'Usage metering is unavailable; the gateway accepts no new sessions until it recovers.');
        const caller = await authenticateLive(req, target, deps);
        const { principal } = caller;
        admitted = principal;
        tr?.authenticated(principal, caller.grant?.id ?? null);
        const s = principal.scopes;
        if (s.endpoints || s.cidrs) {
          const denied = scopeViolation(compileScopes({ endpoints: s.endpoints, cidrs: s.cidrs }), { endpoint: 'live', model: null, address: deps.clientAddress(req) });
          if (denied) throw new GatewayError('permission_denied', denied);
        }
        // The key stages read and set only these fields of the REST exchange's context.
        const ctx = { requestId, principal, state: {}, upstreamKey: config.GEMINI_API_KEY ? { id: null, secret: config.GEMINI_API_KEY } : null, pinnedKeyId: null, holdStatuses: null } as unknown as ProxyContext;
        for (const step of keySteps) await step.before?.(ctx);
        const upstreamKey = ctx.upstreamKey;
        if (!upstreamKey) throw new GatewayError('unavailable', 'The gateway has no upstream Gemini key configured (set GEMINI_API_KEY or GEMINI_API_KEYS).');
        // The model is only known from the setup message: model-narrowed rules count the session's
        // tokens, project and key rules also decide admission. One token must fit in every budget.
        const lease = quotas.admit({ principal, model: null, now: clock.now(), stream: false, estimate: () => 1 });
        if (caller.grant) {
          // Spent only now, so a session the gateway refuses (quota, scope) costs the token no use.
          try {
            await deps.tokens.take(caller.grant, requestId);
          } catch (err) {
            quotas.settle(lease, { forwarded: false, tokens: 0, model: null }, clock.now());
            throw err;
          }
        }
        // The client may have hung up during the awaits above: its 'close' has then fired already,
        // and the handler below would never release the slot nor leave the lifecycle.
        if (socket.destroyed) {
          tr?.refused(CLIENT_CLOSED_REQUEST, 'The client closed the connection before the session opened.');
          quotas.settle(lease, { forwarded: false, tokens: 0, model: null }, clock.now());
          return;
        }
        const headers: Record<string, string> = {};
        for (const h of PASSED_HEADERS) {
          const v = req.headers[h];
          if (typeof v === 'string') headers[h] = v;
        }
        if (!lifecycle.enter()) {
          quotas.settle(lease, { forwarded: false, tokens: 0, model: null }, clock.now());
          throw shuttingDown();
        }
        let started = false;
        // A handshake ws itself rejects (bad Sec-WebSocket-Key…) never becomes a session: release it here.
        socket.once('close', () => {
          if (started) return;
          tr?.refused(400, 'The WebSocket handshake failed.');
          quotas.settle(lease, { forwarded: false, tokens: 0, model: null }, clock.now());
          lifecycle.leave();
        });
        wss.handleUpgrade(req, socket, head, (client) => {
          started = true;
          tr?.admitted(lease.headers['ratelimit-policy'] !== undefined);
          const session = runSession(client, {
            requestId, caller, apiVersion: target.apiVersion, target: target.path + caller.search, upstreamKey, lease, headers,
            address: deps.clientAddress(req), trace: tr,
            onEnd: () => {
              sessions.delete(session);
              lifecycle.leave();
            },
          }, sessionDeps);
          sessions.add(session);
        });
      } catch (err) {
        const ge = toGatewayError(err);
        if (!(err instanceof GatewayError)) log.error({ requestId, err: (err as Error).message }, 'live upgrade failure');
        refuseUpgrade(socket, ge);
        tr?.refused(ge.status, ge.message);
        // As on the REST paths: a refusal after authentication is recorded; an unauthenticated one has no one to charge.
        if (admitted && target) recordRefusal(deps, admitted, requestId, target.apiVersion, ge, performance.now() - startedAt);
      }
    },
  };
}

/** A reset before or during the handshake needs no handling beyond the 'close' that follows it. */
function ignoreSocketError(): void {}

function recordRefusal({ recorder, log, clock }: LiveDeps, p: Principal, requestId: string, apiVersion: string, err: GatewayError, ms: number): void {
  const latencyMs = Math.round(ms);
  recorder.record({
    createdAt: clock.now(), requestId, tenantId: p.tenantId, projectId: p.projectId, keyId: p.keyId, upstreamKeyId: null, method: 'GET', apiVersion,
    endpoint: 'live_session', model: null, stream: 1, status: err.status, outcome: 'gateway_error', usage: null, ttfbMs: null, latencyMs, bytesIn: 0, bytesOut: 0,
  });
  log.info({ requestId, tenant: p.tenantSlug, project: p.projectSlug, keyPrefix: p.keyPrefix, endpoint: 'live_session', status: err.status, outcome: 'gateway_error', error: err.message, ms: latencyMs }, 'request completed');
}

/** An HTTP answer on a socket that asked to upgrade: Google's error body, then the connection closes. */
function refuseUpgrade(socket: Duplex, err: GatewayError): void {
  const body = renderError(err, 'google');
  const extra = Object.entries(err.options.headers ?? {}).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.end(
    `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? ''}\r\ncontent-type: application/json; charset=UTF-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}connection: close\r\n\r\n${body}`,
  );
}
