import { GatewayError } from '../errors.js';
import type { Lifecycle } from '../lifecycle.js';
import { requestTargetProblem } from './request-target.js';

/** A refusal every request gets before routing, whichever listener routes it (Hono or the data plane's). */
export interface EarlyRefusal {
  error: GatewayError;
  headers: Record<string, string>;
}

const JSON_TYPE = { 'content-type': 'application/json; charset=UTF-8' };

/** What work arriving during the drain gets, on every surface: 503, and its connection closed (kept-alive ones still deliver). */
export function shuttingDown(): GatewayError {
  return new GatewayError('unavailable', 'The gateway is shutting down; retry shortly.', { headers: { connection: 'close' } });
}

/**
 * Judged on the raw target, before routing (the router would see a normalised path, upstream the
 * raw one), then shutdown: keep-alive connections still deliver requests after close(), so those
 * are refused and their connection closed. `path` is the routed path (public prefix stripped).
 */
export function refusalBeforeRouting(lifecycle: Pick<Lifecycle, 'draining'>, rawUrl: string, path: string): EarlyRefusal | null {
  const problem = requestTargetProblem(rawUrl);
  if (problem) return { error: new GatewayError('invalid_argument', problem), headers: JSON_TYPE };
  // Health, readiness, admin and metrics stay open while draining: a scrape is how an operator watches the drain.
  if (lifecycle.draining && path !== '/healthz' && path !== '/readyz' && path !== '/metrics' && !path.startsWith('/admin/')) {
    return { error: shuttingDown(), headers: { ...JSON_TYPE, connection: 'close' } };
  }
  return null;
}

// Versioned Gemini paths, as classify() reads them; percent-encoded ones are left to the router,
// which decodes before matching (so it alone decides whether one names another surface's route).
const DATA_PLANE = /^\/(?:upload\/)?v\d+[a-z0-9]*\/[^%]*$/;
// The one versioned route another surface serves (proxy/live/token-app.ts).
const AUTH_TOKENS = /^\/v\d+[a-z0-9]*\/auth_tokens$/;

// A Host header @hono/node-server accepts without parsing it; any other is left to its full check
// (which refuses a malformed one with a 400), so skipping the router never lets one through.
const PLAIN_HOST = /^[a-z0-9._-]+(?::(?:[1-5]\d{3,4}|[6-9]\d{3}))?$/;

/**
 * Pure: whether a request goes straight to the data plane, skipping the router. `path` is the raw
 * path without query, public prefix stripped. Anything else (admin, dashboard, self-service,
 * health, metrics, docs, auth tokens, unusual Host headers) goes through Hono, which ends in the
 * same data plane.
 */
export function isDataPlane(method: string, path: string, host: string | undefined): boolean {
  return DATA_PLANE.test(path) && !(method === 'POST' && AUTH_TOKENS.test(path)) && host !== undefined && PLAIN_HOST.test(host);
}
