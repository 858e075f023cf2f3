import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Token kinds as exported (prompt includes cached, as upstream counts it). */
export type TokenKind = 'prompt' | 'cached' | 'output' | 'thoughts';

/**
 * The gateway's Prometheus metrics on their own registry (one per gateway, never prom-client's
 * global one, so tests and several gateways in one process stay apart). Other features increment
 * what they own through deps.metrics, e.g. `quotaRefusals.inc({ tenant, project, limit: 'tokens_per_day' })`.
 */
export interface GatewayMetrics {
  registry: Registry;
  requests: Counter<'tenant' | 'project' | 'endpoint' | 'status'>;
  tokens: Counter<'tenant' | 'project' | 'model' | 'kind'>;
  upstreamLatency: Histogram<'endpoint'>;
  upstreamTtfb: Histogram<'endpoint'>;
  inflightStreams: Gauge;
  quotaRefusals: Counter<'tenant' | 'project' | 'limit'>;
  /** Wires the gauges that are read at scrape time rather than pushed. */
  track(sources: { pendingUsageRows: () => number; inflightRequests: () => number; quotaBuckets: () => number }): void;
  /** The ledger's onFlush: batch time and rows written. */
  observeFlush(info: { rows: number; ms: number; ok: boolean }): void;
  /** The ledger's onSetAside: rows the database refused as data, logged whole instead. */
  observeSetAside(rows: number): void;
}

const P = 'gemini_gateway_';

/**
 * Pure: a WebSocket close code as a `status` label. RFC 6455's own codes (1000–1015) and HTTP
 * statuses of refused upgrades stay as they are; the application ranges are chosen freely by
 * whichever side closes, a client included, so each collapses to one value (`3xxx`, `4xxx`) and a
 * client cannot mint thousands of series.
 */
export function closeCodeLabel(code: number): string {
  if (code >= 3000 && code <= 3999) return '3xxx';
  if (code >= 4000 && code <= 4999) return '4xxx';
  if ((code >= 1000 && code <= 1015) || (code >= 100 && code <= 599)) return String(code);
  return 'other';
}

export function createMetrics(): GatewayMetrics {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });
  let sources = { pendingUsageRows: () => 0, inflightRequests: () => 0, quotaBuckets: () => 0 };
  const flushRows = new Counter({ name: `${P}usage_writer_rows_total`, help: 'Usage rows written by the batch writer.', registers });
  const setAside = new Counter({ name: `${P}usage_writer_rows_set_aside_total`, help: 'Usage rows the database refused as data: logged whole (unwrittenUsageRows) instead of stored.', registers });
  const flushSeconds = new Histogram({
    name: `${P}usage_writer_flush_seconds`,
    help: 'Time per usage-writer batch transaction (rows and rollups), by result.',
    labelNames: ['result'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers,
  });
  new Gauge({ name: `${P}usage_writer_queue_depth`, help: 'Usage rows waiting to be written.', registers, collect() { this.set(sources.pendingUsageRows()); } });
  new Gauge({ name: `${P}inflight_requests`, help: 'Proxied requests in flight.', registers, collect() { this.set(sources.inflightRequests()); } });
  new Gauge({ name: `${P}quota_buckets`, help: 'Quota counter buckets (project, key or model slices) held in memory.', registers, collect() { this.set(sources.quotaBuckets()); } });
  return {
    registry,
    requests: new Counter({
      name: `${P}requests_total`, help: 'Proxied requests by tenant, project, endpoint and response status.',
      labelNames: ['tenant', 'project', 'endpoint', 'status'] as const, registers,
    }),
    tokens: new Counter({
      name: `${P}tokens_total`, help: 'Metered tokens by tenant, project, model and kind (prompt includes cached).',
      labelNames: ['tenant', 'project', 'model', 'kind'] as const, registers,
    }),
    upstreamLatency: new Histogram({
      name: `${P}upstream_latency_seconds`, help: 'Request start to the end of the upstream response, for requests that went upstream.',
      labelNames: ['endpoint'] as const, buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300], registers,
    }),
    upstreamTtfb: new Histogram({
      name: `${P}upstream_ttfb_seconds`, help: 'Request start to the first upstream body byte.',
      labelNames: ['endpoint'] as const, buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers,
    }),
    inflightStreams: new Gauge({ name: `${P}inflight_streams`, help: 'SSE responses currently streaming to clients.', registers }),
    quotaRefusals: new Counter({
      name: `${P}quota_refusals_total`, help: 'Requests refused by a quota, by the limit that was hit.',
      labelNames: ['tenant', 'project', 'limit'] as const, registers,
    }),
    track(s) {
      sources = s;
    },
    observeFlush({ rows, ms, ok }) {
      flushSeconds.observe({ result: ok ? 'ok' : 'failed' }, ms / 1000);
      if (ok) flushRows.inc(rows);
    },
    observeSetAside(rows) {
      setAside.inc(rows);
    },
  };
}
