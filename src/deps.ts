import type { HttpBindings } from '@hono/node-server';
import type { KeyResolver } from './auth/key-resolver.js';
import type { TenantAuthenticate } from './auth/tenant-auth.js';
import type { ClientAddress } from './auth/client-address.js';
import type { Clock } from './clock.js';
import type { Config } from './config.js';
import type { Db } from './db/client.js';
import type { ProxyStage } from './exchange/stage.js';
import type { Lifecycle } from './lifecycle.js';
import type { Logger } from './logger.js';
import type { Ledger } from './ledger/ledger.js';
import type { GatewayMetrics } from './metrics/metrics.js';
import type { ResourceStore } from './ownership/resource-store.js';
import type { Quotas } from './quota/quotas.js';
import type { LiveTokens } from './live/tokens.js';
import type { Upstream } from './upstream/connection.js';
import type { UpstreamKeyPool } from './upstream/key-pool.js';
import type { PriceBook } from './usage/prices.js';
import type { Telemetry } from './telemetry/telemetry.js';

/**
 * Everything a surface may use, built once by the composition root (gateway.ts, or a test) and
 * passed in: no module singletons. Types only, so any surface can name what it needs
 * (`Pick<AppDeps, 'config' | 'log'>`) without importing another surface.
 */
export interface AppDeps {
  config: Config;
  log: Logger;
  db: Db;
  clock: Clock;
  keys: KeyResolver;
  upstream: Upstream;
  /** The usage ledger: the one way a usage row gets written. */
  recorder: Ledger;
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
  /** The client's address: the socket peer, or X-Forwarded-For from TRUSTED_PROXIES. */
  clientAddress: ClientAddress;
  /** Gateway-issued ephemeral tokens for the Live API. */
  liveTokens: LiveTokens;
  /** Data-plane steps around the upstream call (scopes, quotas, ownership…), in order. */
  stages: ProxyStage[];
  /** The started OpenTelemetry SDK; absent when the OTEL_* variables leave it off. */
  telemetry?: Telemetry | null;
}

/** Hono's environment on every surface: Node's request/response and the request id. */
export type AppEnv = { Bindings: HttpBindings; Variables: { requestId: string } };
