import { getRequestListener } from '@hono/node-server';
import { Hono } from 'hono';
import { getPath } from 'hono/utils/url';
import { newRequestId } from './request-id.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppDeps, AppEnv } from './deps.js';
import { renderError } from './errors.js';
import { createAdminApp } from './admin/app.js';
import { createHealthApp } from './health.js';
import { createMetricsApp } from './metrics/app.js';
import { createDashboardApp } from './dashboard/app.js';
import { createSelfServiceApp } from './self-service/app.js';
import { isDataPlane, refusalBeforeRouting } from './proxy/front-door.js';
import { unroutableRequest } from './proxy/client-error.js';
import { createLiveTokenApp } from './proxy/live/token-app.js';
import { createProxyApp, type ProxyHandler } from './proxy/route.js';
import { stripPublicPrefix } from './public-path.js';

export function buildApp(deps: AppDeps) {
  return buildSurfaces(deps).app;
}

function buildSurfaces(deps: AppDeps): { app: Hono<AppEnv>; proxy: ProxyHandler } {
  const prefix = deps.config.PUBLIC_PATH_PREFIX;
  const app = new Hono<AppEnv>(prefix ? { getPath: (req) => stripPublicPrefix(getPath(req), prefix) } : {});

  app.use('*', async (c, next) => {
    c.set('requestId', newRequestId());
    const refusal = c.env?.incoming ? refusalBeforeRouting(deps.lifecycle, c.env.incoming.url ?? '/', c.req.path) : null;
    // Admin callers parse one error shape; only tenant-key surfaces get Google's. Judged on the target
    // as sent: `/v1beta/%2e%2e/admin/…` normalises into /admin/ but was sent to the data plane. Under a
    // PUBLIC_BASE_URL path the admin API (and the dashboard calling it) is `/gw/admin/…` as sent.
    const audience = stripPublicPrefix(c.env?.incoming?.url ?? '', prefix).startsWith('/admin/') ? 'admin' : 'google';
    if (refusal) return c.body(renderError(refusal.error, audience, c.get('requestId')), refusal.error.status as 400, refusal.headers);
    await next();
  });

  app.route('/', createHealthApp(deps));
  app.route('/', createAdminApp(deps));
  app.route('/', createMetricsApp(deps));
  app.route('/', createDashboardApp());
  app.route('/', createSelfServiceApp(deps));
  app.route('/', createLiveTokenApp({ ...deps, tokens: deps.liveTokens, maxJsonBytes: deps.config.MAX_JSON_BODY_BYTES }));
  // The data plane is the catch-all, so it is mounted last.
  const proxy = createProxyApp(deps);
  app.route('/', proxy.app);
  return { app, proxy: proxy.handle };
}

/**
 * The node:http listener: Gemini API paths go straight to the data plane, without the router and
 * its per-request Request/Context objects (the hot path: ~4% of CPU at c=64, plus their garbage);
 * everything else goes through Hono. Both get the same request id and the same refusals first.
 */
export function buildListener(deps: AppDeps): { app: Hono<AppEnv>; listener: (req: IncomingMessage, res: ServerResponse) => void } {
  const { app, proxy } = buildSurfaces(deps);
  const prefix = deps.config.PUBLIC_PATH_PREFIX;
  const routed = getRequestListener(app.fetch, { autoCleanupIncoming: false, errorHandler: unroutableRequest });
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const path = stripPublicPrefix(q === -1 ? rawUrl : rawUrl.slice(0, q), prefix);
    if (!isDataPlane(req.method ?? 'GET', path, req.headers.host)) {
      void routed(req, res);
      return;
    }
    const refusal = refusalBeforeRouting(deps.lifecycle, rawUrl, path);
    if (refusal) {
      const body = renderError(refusal.error, 'google');
      res.writeHead(refusal.error.status, { ...refusal.headers, 'content-length': Buffer.byteLength(body) }).end(body);
      return;
    }
    void proxy(req, res, newRequestId());
  };
  return { app, listener };
}
