import type { HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { Hono } from 'hono';
import { performance } from 'node:perf_hooks';
import type { AppDeps } from '../app.js';
import type { AuthFailure } from '../auth/principal.js';
import { GatewayError, renderError, toGatewayError } from '../errors.js';
import { stripPublicPrefix } from '../public-path.js';
import { takeBody } from './body.js';
import { classify } from './classify.js';
import { forward, NO_METER, type ForwardResult } from './forward.js';
import { extractTenantKey, upstreamRequestHeaders } from './headers.js';
import { KEY_FAILURE_STATUSES } from './key-failure.js';
import { recordExchange } from './record.js';
import type { ProxyContext } from './stage.js';

/** What a tenant is told for each way its key can fail; shared by every tenant-facing surface. */
export const AUTH_MESSAGES: Record<AuthFailure, string> = {
  missing: 'Missing API key. Send your gateway key as x-goog-api-key.',
  unknown: 'API key not valid. Please pass a valid gateway API key.',
  revoked: 'API key has been revoked.',
  expired: 'API key has expired.',
  disabled: 'API key is disabled, or its project or tenant is disabled or deleted.',
};

/** The data plane: every versioned Gemini path, forwarded with the tenant key swapped for the upstream key. */
export function createProxyApp(deps: AppDeps) {
  const { config, log, keys, upstream, lifecycle, clock, stages } = deps;

  const app = new Hono<{ Bindings: HttpBindings; Variables: { requestId: string } }>();

  app.onError((err, c) => {
    const ge = toGatewayError(err);
    if (!(err instanceof GatewayError)) log.error({ requestId: c.get('requestId'), err: (err as Error).message }, 'proxy failure');
    return c.body(renderError(ge, 'google'), ge.status as 500, { 'content-type': 'application/json; charset=UTF-8', ...ge.options.headers });
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

    const { key, search } = extractTenantKey(incoming.rawHeaders, q === -1 ? '' : rawUrl.slice(q));
    const auth = keys.resolve(key);
    if (!auth.ok) throw new GatewayError('unauthenticated', AUTH_MESSAGES[auth.reason]);

    const body = await takeBody(incoming, config.MAX_JSON_BODY_BYTES, what.endpoint === 'upload');
    const ctx = newContext(deps, { requestId: c.get('requestId'), incoming, method, path, search, what, principal: auth.principal, body, startedAt });
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
              headers: upstreamRequestHeaders(incoming.rawHeaders, credential.secret, replayable),
              body: body.body,
              family: what.family,
              capture: ctx.captureResponse,
              extraHeaders: ctx.extraHeaders,
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
