import { Hono } from 'hono';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { AppDeps } from './deps.js';

/**
 * Liveness for the container healthcheck, readiness for a load balancer, and (opt-in) process
 * stats for the benchmark harness.
 */
export function createHealthApp(deps: Pick<AppDeps, 'config' | 'lifecycle' | 'keyPool' | 'recorder' | 'quotas'>) {
  const app = new Hono();
  app.get('/healthz', (c) => {
    if (deps.lifecycle.draining) return c.json({ status: 'draining' }, 503);
    return c.json({ status: 'ok', upstreamKey: deps.keyPool.size() > 0, pendingUsageRows: deps.recorder.pending() });
  });
  // Not ready while this replica would turn new requests away for a reason another replica may not
  // share: the balancer sends them elsewhere. Each reason is one the data plane answers 503 for.
  app.get('/readyz', (c) => {
    const reasons: string[] = [];
    if (deps.lifecycle.draining) reasons.push('draining');
    if (deps.config.METERING_FAILURE === 'closed' && deps.recorder.saturated()) reasons.push('usage rows cannot be written (the database refuses writes) and METERING_FAILURE=closed');
    if (deps.config.QUOTA_FAILURE === 'closed' && deps.quotas.sharedReachable() === false) reasons.push('shared quota counters (Redis) unreachable and QUOTA_FAILURE=closed');
    return reasons.length ? c.json({ status: 'unready', reasons }, 503) : c.json({ status: 'ready' });
  });
  if (deps.config.GATEWAY_INTERNAL_STATS) {
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    app.get('/internal/stats', (c) => {
      const body = {
        eventLoopDelayP99Ms: h.percentile(99) / 1e6,
        eventLoopDelayMaxMs: h.max / 1e6,
        rssBytes: process.memoryUsage.rss(),
        inflight: deps.lifecycle.inflight,
        pendingUsageRows: deps.recorder.pending(),
      };
      if (c.req.query('reset') === '1') h.reset();
      return c.json(body);
    });
  }
  return app;
}
