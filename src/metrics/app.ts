import { Hono } from 'hono';
import type { AppDeps, AppEnv } from '../deps.js';
import { bearerAuth } from '../auth/admin-auth.js';
import { onErrorFor } from '../errors.js';

/** GET /metrics in Prometheus text format, for ADMIN_TOKEN or METRICS_TOKEN holders. */
export function createMetricsApp({ config, metrics, log }: Pick<AppDeps, 'config' | 'metrics' | 'log'>) {
  const app = new Hono<AppEnv>();
  app.onError(onErrorFor('admin', log, 'metrics'));
  const auth = bearerAuth([config.ADMIN_TOKEN, config.METRICS_TOKEN], {
    disabled: 'Metrics are disabled. Set METRICS_TOKEN or ADMIN_TOKEN (at least 16 characters) and restart the gateway.',
    invalid: 'Missing or invalid token (Authorization: Bearer <METRICS_TOKEN or ADMIN_TOKEN>).',
  });
  app.get('/metrics', auth, async (c) => c.body(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType }));
  return app;
}
