import { performance } from 'node:perf_hooks';
import type { ProxyStage } from '../exchange/stage.js';
import type { GatewayMetrics, TokenKind } from './metrics.js';

const STREAMING = Symbol('metrics.streaming');

/**
 * Counts each exchange once, when it is over (after()), never per chunk. First in the stage list so
 * that requests refused by later stages (quotas) are counted too, with the status they got.
 */
export function metricsStage(m: GatewayMetrics): ProxyStage {
  return {
    name: 'metrics',
    responseHeaders(ctx, _status, headers) {
      const type = headers['content-type'];
      if (typeof type === 'string' && /^text\/event-stream/i.test(type)) {
        m.inflightStreams.inc();
        ctx.state[STREAMING] = true;
      }
    },
    after(ctx, result) {
      if (ctx.state[STREAMING]) m.inflightStreams.dec();
      const { tenantSlug: tenant, projectSlug: project } = ctx.principal;
      const endpoint = ctx.what.endpoint;
      m.requests.inc({ tenant, project, endpoint, status: String(result.status) });
      if (result.outcome !== 'gateway_error') {
        m.upstreamLatency.observe({ endpoint }, (performance.now() - ctx.startedAt) / 1000);
        if (result.ttfbMs !== null) m.upstreamTtfb.observe({ endpoint }, result.ttfbMs / 1000);
      }
      const u = result.meter.usage;
      if (!u) return;
      const model = ctx.model ?? result.meter.model ?? 'unknown';
      const kinds: [TokenKind, number][] = [['prompt', u.promptTokens], ['cached', u.cachedTokens], ['output', u.outputTokens], ['thoughts', u.thoughtsTokens]];
      for (const [kind, n] of kinds) if (n > 0) m.tokens.inc({ tenant, project, model, kind }, n);
    },
  };
}
