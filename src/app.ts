import { Hono } from 'hono';
import { getPath } from 'hono/utils/url';
import { randomUUID } from 'node:crypto';
import type { AppDeps, AppEnv } from './deps.js';
import { GatewayError, renderError } from './errors.js';
import { createAdminApp } from './admin/app.js';
import { createHealthApp } from './health.js';
import { createMetricsApp } from './metrics/app.js';
import { createDashboardApp } from './dashboard/app.js';
import { createSelfServiceApp } from './self-service/app.js';
import { requestTargetProblem } from './proxy/request-target.js';
import { createLiveTokenApp } from './proxy/live/token-app.js';
import { createProxyApp } from './proxy/route.js';
import { stripPublicPrefix } from './public-path.js';

export function buildApp(deps: AppDeps) {
  const prefix = deps.config.PUBLIC_PATH_PREFIX;
  const app = new Hono<AppEnv>(prefix ? { getPath: (req) => stripPublicPrefix(getPath(req), prefix) } : {});

  app.use('*', async (c, next) => {
    c.set('requestId', randomUUID());
    // Judged on the raw target, before routing: the router would see a normalised path, upstream the raw one.
    const problem = c.env?.incoming ? requestTargetProblem(c.env.incoming.url ?? '/') : null;
    if (problem) return c.body(renderError(new GatewayError('invalid_argument', problem), 'google'), 400, { 'content-type': 'application/json; charset=UTF-8' });
    if (deps.lifecycle.draining && c.req.path !== '/healthz' && !c.req.path.startsWith('/admin/')) {
      // Keep-alive connections still deliver requests after close(): refuse them and close the connection.
      const err = new GatewayError('unavailable', 'The gateway is shutting down; retry shortly.');
      return c.body(renderError(err, 'google'), 503, { 'content-type': 'application/json; charset=UTF-8', connection: 'close' });
    }
    await next();
  });

  app.route('/', createHealthApp(deps));
  app.route('/', createAdminApp(deps));
  app.route('/', createMetricsApp(deps));
  app.route('/', createDashboardApp());
  app.route('/', createSelfServiceApp(deps));
  app.route('/', createLiveTokenApp({ ...deps, tokens: deps.liveTokens, maxJsonBytes: deps.config.MAX_JSON_BODY_BYTES }));
  // The data plane is the catch-all, so it is mounted last.
  app.route('/', createProxyApp(deps));
  return app;
}
