import { Hono } from 'hono';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { AppDeps } from './deps.js';

/** Liveness for the container healthcheck, and (opt-in) process stats for the benchmark harness. */
export function createHealthApp(deps: Pick<AppDeps, 'config' | 'lifecycle' | 'keyPool' | 'recorder'>) {
  const app = new Hono();
  app.get('/healthz', (c) => {
    if (deps.lifecycle.draining) return c.json({ status: 'draining' }, 503);
    return c.json({ status: 'ok', upstreamKey: deps.keyPool.size() > 0, pendingUsageRows: deps.recorder.pending() });
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
