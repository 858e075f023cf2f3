import type { HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { Hono } from 'hono';
import { performance } from 'node:perf_hooks';
import type { AppDeps } from '../app.js';
import type { AuthFailure, Principal } from '../auth/principal.js';
import { GatewayError, renderError, toGatewayError } from '../errors.js';
import { takeBody } from './body.js';
import { classify, type Classified } from './classify.js';
import { forward, type ForwardResult } from './forward.js';
import { extractTenantKey, upstreamRequestHeaders } from './headers.js';

const AUTH_MESSAGES: Record<AuthFailure, string> = {
  missing: 'Missing API key. Send your gateway key as x-goog-api-key.',
  unknown: 'API key not valid. Please pass a valid gateway API key.',
  revoked: 'API key has been revoked.',
  expired: 'API key has expired.',
  disabled: 'API key belongs to a disabled tenant or project.',
};

/** The data plane: every versioned Gemini path, forwarded with the tenant key swapped for the upstream key. */
export function createProxyApp(deps: AppDeps) {
  const { config, log, keys, upstream, recorder, lifecycle, clock } = deps;
  const app = new Hono<{ Bindings: HttpBindings; Variables: { requestId: string } }>();

  app.onError((err, c) => {
    const ge = toGatewayError(err);
    if (!(err instanceof GatewayError)) log.error({ requestId: c.get('requestId'), err: (err as Error).message }, 'proxy failure');
    return c.body(renderError(ge, 'google'), ge.status as 500, { 'content-type': 'application/json; charset=UTF-8', ...ge.options.headers });
  });

  app.all('*', async (c) => {
    const { incoming, outgoing } = c.env;
    const startedAt = performance.now();
    const requestId = c.get('requestId');
    const rawUrl = incoming.url ?? '/';
    const q = rawUrl.indexOf('?');
    const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
    const what = classify(incoming.method ?? 'GET', path);
    if (!what) throw new GatewayError('not_found', 'Not a Gemini API path. Paths look like /v1beta/models/{model}:generateContent.');

    const { key, search } = extractTenantKey(incoming.rawHeaders, q === -1 ? '' : rawUrl.slice(q));
    const auth = keys.resolve(key);
    if (!auth.ok) throw new GatewayError('unauthenticated', AUTH_MESSAGES[auth.reason]);
    const principal = auth.principal;
    const upstreamKey = config.GEMINI_API_KEY;
    if (!upstreamKey) throw new GatewayError('unavailable', 'The gateway has no upstream Gemini key configured (set GEMINI_API_KEY).');

    const body = await takeBody(incoming, config.MAX_JSON_BODY_BYTES, what.endpoint === 'upload');
    const model = what.model ?? modelFromBody(body.buffered);

    lifecycle.enter();
    let result: ForwardResult;
    try {
      result = await forward(upstream.pool, outgoing, {
        method: incoming.method ?? 'GET',
        path: upstream.basePath + path + search,
        headers: upstreamRequestHeaders(incoming.rawHeaders, upstreamKey, body.buffered !== null),
        body: body.body,
        family: what.family,
        extraHeaders: { 'x-gateway-request-id': requestId },
        startedAt,
        maxJsonBytes: config.MAX_JSON_BODY_BYTES,
      });
    } finally {
      lifecycle.leave();
    }
    record(deps, { requestId, principal, what, model, result, startedAt, bytesIn: body.length(), method: incoming.method ?? 'GET', now: clock.now() });
    return RESPONSE_ALREADY_SENT;
  });

  return app;
}

interface Finished {
  requestId: string;
  principal: Principal;
  what: Classified;
  model: string | null;
  result: ForwardResult;
  startedAt: number;
  bytesIn: number;
  method: string;
  now: number;
}

function record({ recorder, log }: AppDeps, f: Finished): void {
  const { result, principal, what } = f;
  const latencyMs = Math.round(performance.now() - f.startedAt);
  const usage = result.meter.usage;
  const model = f.model ?? result.meter.model;
  recorder.record({
    createdAt: f.now,
    requestId: f.requestId,
    tenantId: principal.tenantId,
    projectId: principal.projectId,
    keyId: principal.keyId,
    upstreamKeyId: principal.upstreamKeyId,
    method: f.method,
    apiVersion: what.apiVersion,
    endpoint: what.endpoint,
    model,
    stream: result.meter.sse || what.endpoint === 'streamGenerateContent' ? 1 : 0,
    status: result.status,
    outcome: result.outcome,
    usage,
    ttfbMs: result.ttfbMs === null ? null : Math.round(result.ttfbMs),
    latencyMs,
    bytesIn: f.bytesIn,
    bytesOut: result.bytesOut,
  });
  log.info(
    {
      requestId: f.requestId,
      tenant: principal.tenantSlug,
      project: principal.projectSlug,
      keyPrefix: principal.keyPrefix,
      endpoint: what.endpoint,
      model,
      status: result.status,
      outcome: result.outcome,
      totalTokens: usage?.totalTokens ?? null,
      ms: latencyMs,
      ...(result.errorMessage ? { upstreamError: result.errorMessage } : {}),
      ...(result.meter.bareJsonLines ? { bareJsonLines: result.meter.bareJsonLines } : {}),
    },
    'request completed',
  );
}

/** Interactions name their model in the body; a cheap parse of bodies the gateway already holds. */
function modelFromBody(buf: Buffer | null): string | null {
  if (!buf || buf.length === 0 || buf[0] !== 0x7b) return null;
  try {
    const m = (JSON.parse(buf.toString('utf8')) as { model?: unknown }).model;
    return typeof m === 'string' ? m.replace(/^models\//, '') : null;
  } catch {
    return null;
  }
}
