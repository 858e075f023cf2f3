import type { HttpBindings } from '@hono/node-server';
import { Hono } from 'hono';
import { getPath } from 'hono/utils/url';
import { randomUUID } from 'node:crypto';
import type { KeyResolver } from './auth/key-resolver.js';
import type { TenantAuthenticate } from './auth/tenant-auth.js';
import type { Clock } from './clock.js';
import type { Config } from './config.js';
import type { Db } from './db/client.js';
import { GatewayError, renderError } from './errors.js';
import { createAdminApp } from './admin/app.js';
import { createHealthApp } from './health.js';
import type { Lifecycle } from './lifecycle.js';
import type { Logger } from './logger.js';
import type { Recorder } from './metering/recorder.js';
import type { UpstreamKeyPool } from './proxy/key-pool.js';
import type { ResourceStore } from './ownership/resource-store.js';
import { createMetricsApp } from './metrics/app.js';
import type { GatewayMetrics } from './metrics/metrics.js';
import { createDashboardApp } from './dashboard/app.js';
import { createSelfServiceApp } from './self-service/app.js';
import type { PriceBook } from './usage/prices.js';
import type { ProxyStage } from './proxy/stage.js';
import type { Upstream } from './proxy/upstream.js';
import { requestTargetProblem } from './proxy/request-target.js';
import { createProxyApp } from './proxy/route.js';
import { stripPublicPrefix } from './public-path.js';
import type { Quotas } from './quota/quotas.js';

/** Everything a surface may use, built once by main (or a test) and passed in: no module singletons. */
export interface AppDeps {
  config: Config;
  log: Logger;
  db: Db;
  clock: Clock;
  keys: KeyResolver;
  upstream: Upstream;
  recorder: Recorder;
  lifecycle: Lifecycle;
  /** Upstream Gemini keys requests are spread over (GEMINI_API_KEY + GEMINI_API_KEYS). */
  keyPool: UpstreamKeyPool;
  /** Which project owns each upstream file, cached content, batch, interaction and upload session. */
  resources: ResourceStore;
  /** Per-project limits: admission, counters, self-service status. */
  quotas: Quotas;
  metrics: GatewayMetrics;
  prices: PriceBook;
  /** Tenant-key authentication with per-address failure throttling, shared by every tenant-facing surface. */
  tenantAuth: TenantAuthenticate;
  /** Data-plane steps around the upstream call (scopes, quotas, ownership…), in order. */
  stages: ProxyStage[];
}

export type AppEnv = { Bindings: HttpBindings; Variables: { requestId: string } };

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
  // The data plane is the catch-all, so it is mounted last.
  app.route('/', createProxyApp(deps));
  return app;
}
