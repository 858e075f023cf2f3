import type { HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { Hono } from 'hono';
import { performance } from 'node:perf_hooks';
import type { AppDeps } from '../app.js';
import { authenticateTenant } from '../auth/tenant-auth.js';
import { GatewayError, renderError, toGatewayError, type Audience } from '../errors.js';
import { stripPublicPrefix } from '../public-path.js';
import { takeBody } from './body.js';
import { classify } from './classify.js';
import { forward, NO_METER, type ForwardResult } from './forward.js';
import { upstreamRequestHeaders } from './headers.js';
import { KEY_FAILURE_STATUSES } from './key-failure.js';
import { recordExchange } from './record.js';
import type { ProxyContext } from './stage.js';

/** The data plane: every versioned Gemini path, forwarded with the tenant key swapped for the upstream key. */
export function createProxyApp(deps: AppDeps) {
  const { config, log, keys, upstream, lifecycle, clock, stages } = deps;

  const app = new Hono<{ Bindings: HttpBindings; Variables: { requestId: string } }>();

  app.onError((err, c) => {
    const ge = toGatewayError(err);
    if (!(err instanceof GatewayError)) log.error({ requestId: c.get('requestId'), err: (err as Error).message }, 'proxy failure');
    const audience = audienceFor(ge, c.req.method, stripPublicPrefix(c.req.path, config.PUBLIC_PATH_PREFIX));
    return c.body(renderError(ge, audience), ge.status as 500, { 'content-type': 'application/json; charset=UTF-8', ...ge.options.headers });
  });

  app.all('*', async (c) => {
    const { incoming, outgoing } = c.env;
    const startedAt = performance.now();
    const rawUrl = incoming.url ?? '/';
    const q = rawUrl.indexOf('?');
    const path = stripPublicPrefix(q === -1 ? rawUrl : rawUrl.slice(0, q), config.PUBLIC_PATH_PREFIX);
    const method = incoming.method ?? 'GET';
    const what = classify(method, path);
    if (!what) throw new GatewayError('not_found', 'Not a Gemini API path. Paths look like /v1beta/models/{model}:generateContent.');

    const { principal, search } = authenticateTenant(keys, incoming.rawHeaders, q === -1 ? '' : rawUrl.slice(q));

    const body = await takeBody(incoming, config.MAX_JSON_BODY_BYTES, what.endpoint === 'upload');
    const ctx = newContext(deps, { requestId: c.get('requestId'), incoming, method, path, search, what, principal, body, startedAt });
    const entered: typeof stages = [];
    let result: ForwardResult | null = null;
    let refusal: GatewayError | null = null;
    lifecycle.enter();
    try {
      for (const stage of stages) {
        entered.push(stage);
        await stage.before?.(ctx);
      }
      const replayable = body.buffered !== null;
      for (;;) {
        const credential = ctx.upstreamKey;
        if (!credential) throw new GatewayError('unavailable', 'The gateway has no upstream Gemini key configured (set GEMINI_API_KEY or GEMINI_API_KEYS).');
        result = ctx.takeover
          ? await ctx.takeover(outgoing)
          : await forward(upstream.pool, outgoing, {
              method,
              path: upstream.basePath + path + search,
              headers: upstreamRequestHeaders(incoming.rawHeaders, credential.secret, replayable, ctx.streamGuard !== null),
              body: body.body,
              family: what.family,
              capture: ctx.captureResponse,
              extraHeaders: ctx.extraHeaders,
              guard: ctx.streamGuard,
              startedAt,
              maxJsonBytes: config.MAX_JSON_BODY_BYTES,
              onResponseHeaders: (status, headers) => {
                for (const stage of stages) stage.responseHeaders?.(ctx, status, headers);
              },
              hold: ctx.upstreamFailure ? KEY_FAILURE_STATUSES : undefined,
              onHeld: (status, headers, held) => ctx.upstreamFailure?.(status, headers, held, replayable) != null,
            });
        // Only an answer the client has not seen a byte of comes back as `retry`, with ctx.upstreamKey moved on.
        if (!result.retry) break;
      }
    } catch (err) {
      refusal = toGatewayError(err);
      throw err;
    } finally {
      lifecycle.leave();
      const settled = result ?? refused(refusal);
      for (const stage of entered.reverse()) {
        try {
          stage.after?.(ctx, settled);
        } catch (err) {
          log.error({ requestId: ctx.requestId, stage: stage.name, err: (err as Error).message }, 'stage after() failed');
        }
      }
      recordExchange(deps, ctx, settled, clock.now());
    }
    return RESPONSE_ALREADY_SENT;
  });

  return app;
}

function newContext(
  deps: AppDeps,
  base: Pick<ProxyContext, 'requestId' | 'incoming' | 'method' | 'path' | 'search' | 'what' | 'principal' | 'body' | 'startedAt'>,
): ProxyContext {
  let parsed: unknown;
  let didParse = false;
  const json = (): unknown => {
    if (didParse) return parsed;
    didParse = true;
    const buf = base.body.buffered;
    if (!buf || buf.length === 0) return (parsed = null);
    try {
      parsed = JSON.parse(buf.toString('utf8'));
    } catch {
      parsed = null;
    }
    return parsed;
  };
  const ctx: ProxyContext = {
    ...base,
    json,
    model: base.what.model,
    upstreamKey: deps.config.GEMINI_API_KEY ? { id: null, secret: deps.config.GEMINI_API_KEY } : null,
    extraHeaders: { 'x-gateway-request-id': base.requestId },
    captureResponse: false,
    upstreamFailure: null,
    takeover: null,
    streamGuard: null,
    state: new Map(),
    now: deps.clock.now(),
  };
  // Interactions name their model in the body.
  if (ctx.model === null && base.what.endpoint === 'interactions.create') {
    const m = (json() as { model?: unknown } | null)?.model;
    if (typeof m === 'string') ctx.model = m.replace(/^models\//, '');
  }
  return ctx;
}

/** What after() and the usage row see when the gateway answered itself (a stage refused): nothing went upstream. */
function refused(err: GatewayError | null): ForwardResult {
  const status = err?.status ?? 500;
  return { status, outcome: 'gateway_error', ttfbMs: null, bytesOut: 0, meter: NO_METER, errorMessage: err?.message };
}

/**
 * Errors are Google's rpc.Status for every caller; quota refusals on interactions endpoints use the
 * Interactions API's own shape (`code` is a slug), which is what its clients document and parse.
 */
function audienceFor(err: GatewayError, method: string, path: string): Audience {
  if (err.code !== 'resource_exhausted') return 'google';
  return classify(method, path)?.endpoint.startsWith('interactions.') ? 'interactions' : 'google';
}
