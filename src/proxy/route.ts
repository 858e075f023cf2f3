import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { Hono } from 'hono';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { AppDeps, AppEnv } from '../deps.js';
import { GatewayError, renderError, toGatewayError, type Audience } from '../errors.js';
import { shuttingDown } from './front-door.js';
import { stripPublicPrefix } from '../public-path.js';
import { ClientAborted, NO_BODY, takeBody } from '../exchange/body.js';
import { classify } from '../exchange/classify.js';
import { NO_METER } from '../metering/meter.js';
import { CLIENT_CLOSED_REQUEST } from '../metering/row.js';
import { forward } from './forward.js';
import { upstreamRequestHeaders } from './headers.js';
import { recordExchange } from './record.js';
import { requestJson, UNREAD, type ExchangeResult, type ProxyContext } from '../exchange/stage.js';
import type { StreamGuard } from '../exchange/stream-guard.js';
import { createUpstreamReader } from './upstream-read.js';

/** Runs one data-plane request to its end, answering errors itself; never rejects. */
export type ProxyHandler = (incoming: IncomingMessage, outgoing: ServerResponse, requestId: string) => Promise<void>;

/** What the data plane uses. */
export type ProxyDeps = Pick<AppDeps, 'config' | 'log' | 'upstream' | 'lifecycle' | 'clock' | 'stages' | 'recorder' | 'tenantAuth'>;

/**
 * The data plane: every versioned Gemini path, forwarded with the tenant key swapped for the upstream
 * key. `handle` is what the node:http listener calls for those paths without the router (app.ts);
 * `app` is the router's catch-all, for whatever else reaches it.
 */
export function createProxyApp(deps: ProxyDeps): { app: Hono<AppEnv>; handle: ProxyHandler } {
  const { config, log, upstream, lifecycle, clock, stages, recorder } = deps;
  const limits = { maxJsonBytes: config.MAX_JSON_BODY_BYTES, maxUploadBytes: config.MAX_UPLOAD_BODY_BYTES, idleMs: config.REQUEST_BODY_TIMEOUT_MS };
  const reader = createUpstreamReader(upstream.pool, upstream.basePath, config.MAX_JSON_BODY_BYTES);
  // Each hook's stages, found once: the hot path walks only the stages that have the hook.
  const answering = stages.filter((s) => s.answer);
  const guarding = stages.filter((s) => s.streamGuard);
  const heading = stages.filter((s) => s.responseHeaders);
  const failing = stages.filter((s) => s.onUpstreamFailure);
  const billing = stages.filter((s) => s.usageBilledBefore);
  const billedBefore = (ctx: ProxyContext, result: ExchangeResult): boolean => {
    for (const s of billing) if (s.usageBilledBefore!(ctx, result)) return true;
    return false;
  };
  const answerOf = (ctx: ProxyContext, res: ServerResponse): Promise<ExchangeResult> | null => {
    for (const s of answering) {
      const answered = s.answer!(ctx, reader, res);
      if (answered) return answered;
    }
    return null;
  };
  const guardOf = (ctx: ProxyContext): StreamGuard | null => {
    for (const s of guarding) {
      const guard = s.streamGuard!(ctx);
      if (guard) return guard;
    }
    return null;
  };

  /** Answers a request that failed before anything was sent: Google's error shape (interactions' for their quota refusals). */
  const answerError = (err: unknown, outgoing: ServerResponse, requestId: string, method: string, path: string): void => {
    if (err instanceof ClientAborted || outgoing.headersSent) {
      outgoing.destroy(); // nobody is left to read an answer, or one is already under way
      return;
    }
    const ge = toGatewayError(err);
    if (!(err instanceof GatewayError)) log.error({ requestId, err: (err as Error).message }, 'proxy failure');
    const body = renderError(ge, audienceFor(ge, method, path));
    outgoing.writeHead(ge.status, { 'content-type': 'application/json; charset=UTF-8', ...ge.options.headers, 'content-length': Buffer.byteLength(body) });
    outgoing.end(body);
  };

  /** One data-plane request, start to end; never rejects (errors are answered here). */
  const handle = async (incoming: IncomingMessage, outgoing: ServerResponse, requestId: string): Promise<void> => {
    const startedAt = performance.now();
    const rawUrl = incoming.url ?? '/';
    const q = rawUrl.indexOf('?');
    const path = stripPublicPrefix(q === -1 ? rawUrl : rawUrl.slice(0, q), config.PUBLIC_PATH_PREFIX);
    const method = incoming.method ?? 'GET';
    try {
      await exchange(incoming, outgoing, requestId, startedAt, rawUrl, q, path, method);
    } catch (err) {
      try {
        answerError(err, outgoing, requestId, method, path);
      } catch (failed) {
        // Nothing above this catches: a rejection here would be unhandled and end the process.
        log.error({ requestId, err: (failed as Error).message }, 'proxy failure while answering an error');
        outgoing.destroy();
      }
    }
  };

  const exchange = async (
    incoming: IncomingMessage,
    outgoing: ServerResponse,
    requestId: string,
    startedAt: number,
    rawUrl: string,
    q: number,
    path: string,
    method: string,
  ): Promise<void> => {
    const what = classify(method, path);
    if (!what) throw new GatewayError('not_found', 'Not a Gemini API path. Paths look like /v1beta/models/{model}:generateContent.');

    // Metering closed: no new work while unwritten usage rows are at their bound (nothing is recorded for these).
    if (config.METERING_FAILURE === 'closed' && recorder.saturated()) {
      throw new GatewayError('unavailable', 'Usage metering is unavailable; the gateway accepts no new requests until it recovers.', { headers: { 'retry-after': '5' } });
    }
    const { principal, search } = await deps.tenantAuth(incoming, q === -1 ? '' : rawUrl.slice(q));

    const ctx = newContext(deps, { requestId, incoming, method, path, search, what, principal, body: NO_BODY, startedAt });
    const entered: typeof stages = [];
    let result: ExchangeResult | null = null;
    let refusal: GatewayError | null = null;
    if (!lifecycle.enter()) throw shuttingDown();
    try {
      ctx.body = await takeBody(incoming, limits, what.endpoint === 'upload');
      // Interactions name their model in the body: the gateway must read it, so malformed JSON is a 400 here.
      if (ctx.model === null && what.endpoint === 'interactions.create') {
        const m = (requestJson(ctx) as { model?: unknown } | null)?.model;
        if (typeof m === 'string') ctx.model = m.replace(/^models\//, '');
      }
      for (const stage of stages) {
        entered.push(stage);
        // Most stages decide synchronously: awaiting their undefined would cost a promise and a microtask each.
        const pending = stage.before?.(ctx);
        if (pending) await pending;
      }
      const replayable = ctx.body.buffered !== null;
      const guard = ctx.usageBilled ? null : guardOf(ctx);
      for (;;) {
        const credential = ctx.upstreamKey;
        if (!credential) throw new GatewayError('unavailable', 'The gateway has no upstream Gemini key configured (set GEMINI_API_KEY or GEMINI_API_KEYS).');
        const answered = answerOf(ctx, outgoing);
        result = answered
          ? await answered
          : await forward(upstream.pool, outgoing, {
              method,
              path: upstream.basePath + path + search,
              // A guarded stream may be cut between frames, which needs uncompressed bytes.
              headers: upstreamRequestHeaders(incoming.rawHeaders, credential.secret, replayable, guard !== null, ctx.upstreamHeaders),
              body: ctx.body.body,
              family: what.family,
              capture: ctx.captureResponse,
              extraHeaders: ctx.extraHeaders,
              guard,
              startedAt,
              maxJsonBytes: config.MAX_JSON_BODY_BYTES,
              secrets: [credential.secret],
              onResponseHeaders: (status, headers) => {
                for (const stage of heading) stage.responseHeaders!(ctx, status, headers);
              },
              hold: ctx.holdStatuses ?? undefined,
              onHeld: (status, headers, body) => failing.some((stage) => stage.onUpstreamFailure!(ctx, { status, headers, body, replayable })),
            });
        // Only an answer the client has not seen a byte of comes back as `retry`, with ctx.upstreamKey moved on.
        if (!result.retry) break;
      }
      if (result.meter.usage && !ctx.usageBilled) ctx.usageBilled = billedBefore(ctx, result);
      if (ctx.usageBilled && result.meter.usage) result = { ...result, meter: { ...result.meter, usage: null } };
    } catch (err) {
      refusal = toGatewayError(err);
      throw err;
    } finally {
      const settled = result ?? refused(refusal);
      for (const stage of entered.reverse()) {
        try {
          stage.after?.(ctx, settled);
        } catch (err) {
          log.error({ requestId: ctx.requestId, stage: stage.name, err: (err as Error).message }, 'stage after() failed');
        }
      }
      recordExchange(deps, ctx, settled, clock.now());
      // Last: shutdown waits for in-flight requests, so their rows must already be queued.
      lifecycle.leave();
    }
  };

  const app = new Hono<AppEnv>();
  // What the router still sends here: paths the data-plane listener leaves to it (percent-encoded
  // ones) and non-Gemini paths, which get the data plane's 404.
  app.all('*', async (c) => {
    await handle(c.env.incoming, c.env.outgoing, c.get('requestId'));
    return RESPONSE_ALREADY_SENT;
  });
  return { app, handle };
}

function newContext(
  deps: Pick<ProxyDeps, 'config' | 'clock'>,
  base: Pick<ProxyContext, 'requestId' | 'incoming' | 'method' | 'path' | 'search' | 'what' | 'principal' | 'body' | 'startedAt'>,
): ProxyContext {
  // One literal with every field (no spread): a fixed object shape, which V8 builds in one step.
  return {
    requestId: base.requestId,
    incoming: base.incoming,
    method: base.method,
    path: base.path,
    search: base.search,
    what: base.what,
    principal: base.principal,
    body: base.body,
    startedAt: base.startedAt,
    parsedBody: UNREAD,
    model: base.what.model,
    upstreamKey: deps.config.GEMINI_API_KEY ? { id: null, secret: deps.config.GEMINI_API_KEY } : null,
    upstreamHeaders: null,
    pinnedKeyId: null,
    holdStatuses: null,
    extraHeaders: { 'x-gateway-request-id': base.requestId },
    captureResponse: false,
    usageBilled: false,
    state: {},
    now: deps.clock.now(),
  };
}

/** What after() and the usage row see when the gateway answered itself (a stage refused): nothing went upstream. */
function refused(err: GatewayError | null): ExchangeResult {
  // A client that left mid-body got no answer at all, not the 400 that ClientAborted would render.
  if (err instanceof ClientAborted) return { status: CLIENT_CLOSED_REQUEST, outcome: 'client_aborted', ttfbMs: null, bytesOut: 0, meter: NO_METER, errorMessage: err.message };
  return { status: err?.status ?? 500, outcome: 'gateway_error', ttfbMs: null, bytesOut: 0, meter: NO_METER, errorMessage: err?.message };
}

/**
 * Errors are Google's rpc.Status for every caller; quota refusals on interactions endpoints use the
 * Interactions API's own shape (`code` is a slug), which is what its clients document and parse.
 */
function audienceFor(err: GatewayError, method: string, path: string): Audience {
  if (err.code !== 'resource_exhausted') return 'google';
  return classify(method, path)?.endpoint.startsWith('interactions.') ? 'interactions' : 'google';
}
