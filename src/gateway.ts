import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildListener, type buildApp } from './app.js';
import type { AppDeps } from './deps.js';
import { createKeyResolver } from './auth/key-resolver.js';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config.js';
import type { Db } from './db/client.js';
import { openStore, type Store } from './db/store.js';
import { createLedgerSink } from './ledger/choose-sink.js';
import { createLifecycle } from './lifecycle.js';
import { installLingeringClose } from './proxy/lingering-close.js';
import type { Logger } from './logger.js';
import { createLedger } from './ledger/ledger.js';
import { installClientErrorHandler } from './proxy/client-error.js';
import { createResourceStore } from './ownership/resource-store.js';
import { batchPollerFor } from './ownership/batch-poller-setup.js';
import type { BatchPoller } from './ownership/batch-poller.js';
import { createEnvKeyPool, envKeySecrets } from './upstream/key-pool.js';
import { createMetrics } from './metrics/metrics.js';
import { createPriceBook, loadPriceFile } from './usage/prices.js';
import { createAuthThrottle } from './auth/throttle.js';
import { createStages } from './stages.js';
import { createTenantAuth } from './auth/tenant-auth.js';
import { createQuotas } from './quota/quotas.js';
import { createUpstream } from './upstream/connection.js';
import type { Telemetry } from './telemetry/telemetry.js';
import { createLiveTokens } from './live/tokens.js';
import { createLiveGateway } from './proxy/live/upgrade.js';
import type { SharedState } from './shared/redis.js';
import { createRedisCounters } from './quota/redis-counters.js';
import { cellReader } from './quota/seed-cells.js';
import { shareAcrossReplicas } from './replicas/share.js';
import { createClientAddress, parseCidrs } from './auth/client-address.js';

export interface Gateway {
  deps: AppDeps;
  app: ReturnType<typeof buildApp>;
  server: Server;
  /** Follows known batches to their final state (null when BATCH_POLL_* turn it off); runs once listening. */
  batchPoller: BatchPoller | null;
  /** Resolves with the bound address (port 0 picks a free one). */
  listen(): Promise<AddressInfo>;
  /** Stops accepting, lets in-flight requests finish within graceMs, flushes every usage row, closes. */
  shutdown(graceMs?: number): Promise<void>;
  /** Ends a shutdown's grace period now (a second signal): in-flight requests are cut, rows still flushed. */
  hurry(): void;
}

interface GatewayOptions {
  config: Config;
  log: Logger;
  /** A database the caller opened and closes (tests); otherwise DATABASE_URL or DATABASE_PATH is opened here. */
  db?: Db;
  clock?: Clock;
  /** Started by the caller (loadTelemetry) when config.TELEMETRY is set; the gateway flushes and stops it at shutdown. */
  telemetry?: Telemetry | null;
  /** Connected by the caller (connectShared) when REDIS_URL is set; the gateway closes it at shutdown. */
  shared?: SharedState | null;
}

/**
 * Builds every dependency once and wires the app; used by main and by the integration tests alike.
 * Rejects with DatabaseUnavailableError (one printable line) when Postgres cannot be reached.
 */
export async function createGateway({ config, log, db: givenDb, clock = systemClock, telemetry = null, shared = null }: GatewayOptions): Promise<Gateway> {
  // SQLite: usage never waits on this connection (the writer thread has its own, with busy_timeout 0
  // and retries); the few writes made here wait briefly for that thread's short transactions.
  // Postgres: the pool, and the LISTEN connection that tells the caches about other processes' changes.
  const store: Store | null = givenDb ? null : await openStore(config, { listen: true, onError: (message) => log.error(message) });
  const db = givenDb ?? store!.db;
  const keys = createKeyResolver(db, clock, config.KEY_CACHE_TTL_MS);
  const prices = createPriceBook(config.PRICES_FILE ? loadPriceFile(config.PRICES_FILE) : []);
  const metrics = createMetrics();
  const sharedCounters = shared ? createRedisCounters({ shared, leaseMs: config.QUOTA_LEASE_MS, readCell: cellReader(db), log }) : null;
  const quotas = await createQuotas({
    db, clock, log, shared: sharedCounters, failure: config.QUOTA_FAILURE, maxModels: config.QUOTA_MAX_MODEL_BUCKETS,
    onRefusal: (p, limit) => metrics.quotaRefusals.inc({ tenant: p.tenantSlug, project: p.projectSlug, limit }),
  });
  const resources = createResourceStore(db, clock, log);
  // Usage accounting runs on a worker thread with its own connection; an in-memory database cannot
  // be shared with one, so it keeps the same transaction on this thread.
  const sink = createLedgerSink(db, { log, config });
  const recorder = createLedger({
    sink,
    log,
    flushIntervalMs: config.USAGE_FLUSH_INTERVAL_MS,
    batchSize: config.USAGE_FLUSH_BATCH,
    maxPending: config.USAGE_MAX_PENDING_ROWS,
    sides: [{ take: (batch) => batch.keyTouches.push(...keys.drainLastUsed()) }, resources.ledgerSide],
    cost: (row) => prices.costNanoUsd(row),
    onFlush: metrics.observeFlush,
    onSetAside: metrics.observeSetAside,
    now: () => clock.now(),
  });
  const lifecycle = createLifecycle();
  metrics.track({ pendingUsageRows: () => recorder.pending(), inflightRequests: () => lifecycle.inflight, quotaBuckets: () => quotas.buckets() });
  const local = {
    keys, quotas, resources,
    keyPool: createEnvKeyPool(envKeySecrets(config), { clock, log, defaultCooldownMs: config.UPSTREAM_KEY_COOLDOWN_MS }),
    throttle: createAuthThrottle({ limit: config.AUTH_FAILURE_LIMIT, windowMs: config.AUTH_FAILURE_WINDOW_MS, clock }),
  };
  // With REDIS_URL the same services also announce and hear changes, key health and auth failures.
  const replicas = shared ? shareAcrossReplicas(local, { shared, log, clock, config }) : null;
  const { keyPool, throttle } = replicas ?? local;
  const clientAddress = createClientAddress(config.TRUSTED_PROXIES.length ? parseCidrs(config.TRUSTED_PROXIES) : null);
  const tenantAuth = createTenantAuth((replicas ?? local).keys, throttle, log, config.AUTH_FAILURE_LIMIT, clientAddress);
  const liveTokens = createLiveTokens({ db, clock, keys: (replicas ?? local).keys });
  const base = {
    config, log, db, clock, tenantAuth, clientAddress, liveTokens, upstream: createUpstream(config), recorder, lifecycle, keyPool, metrics, prices, telemetry,
    keys: (replicas ?? local).keys, resources: (replicas ?? local).resources, quotas: (replicas ?? local).quotas,
  };
  const batchPoller = batchPollerFor(base);
  const deps: AppDeps = { ...base, stages: createStages(base, batchPoller) };
  const { app, listener } = buildListener(deps);
  // Node answers a missing Host itself with an empty 400; the listener's router refuses it in Google's shape.
  const server = createServer({ requireHostHeader: false }, listener);
  // Node's request timeout covers receiving the whole request: a large upload on a slow link outlives
  // its 5-minute default. A body that stalls is cut by REQUEST_BODY_TIMEOUT_MS instead.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  installClientErrorHandler(server, log);
  const live = createLiveGateway({ ...base, tokens: liveTokens });
  server.on('upgrade', live.handleUpgrade);
  installLingeringClose(server, { timeMs: config.LINGERING_TIME_MS, timeoutMs: config.LINGERING_TIMEOUT_MS, maxBytes: config.LINGERING_MAX_BYTES });
  // Set while a shutdown waits out its grace period.
  let endGrace: (() => void) | null = null;

  return {
    deps,
    app,
    server,
    batchPoller,
    listen() {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.PORT, config.HOST, () => {
          batchPoller?.start();
          resolve(server.address() as AddressInfo);
        });
      });
    },
    hurry() {
      endGrace?.();
    },
    async shutdown(graceMs = config.SHUTDOWN_GRACE_MS) {
      // Draining: the listener stays open through the grace period so new requests get a clear 503
      // (and load balancers see /healthz fail) instead of connection refused; in-flight ones finish.
      deps.lifecycle.drain();
      const hurried = new Promise<true>((r) => (endGrace = () => r(true)));
      const timedOut = await Promise.race([deps.lifecycle.idle().then(() => false), sleep(graceMs).then(() => true), hurried]);
      endGrace = null;
      if (timedOut) {
        log.warn({ inflight: deps.lifecycle.inflight }, 'grace period over; closing remaining connections');
        live.closeAll('The gateway is shutting down.');
        server.closeAllConnections();
        await Promise.race([deps.lifecycle.idle(), sleep(2000)]);
      }
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      // Connections still busy here are only receiving a 503 (or were cut): give them a moment.
      if (await Promise.race([closed.then(() => false), sleep(1000).then(() => true)])) server.closeAllConnections();
      await closed;
      // A connection cut above (a Live client that never answered its close frame, ended by the relay's
      // timeout) settles after the socket is gone: its row is recorded on the next ticks, so wait for
      // that before the ledger closes, or the row would only reach the "unwritten" log line.
      await Promise.race([deps.lifecycle.idle(), sleep(2000)]);
      // Before the ledger closes, so a batch the poller just saw finish is written with the rest.
      await batchPoller?.stop();
      const written = await deps.recorder.close();
      log.info({ flushed: written }, 'usage flushed');
      await deps.upstream.close();
      await sharedCounters?.close();
      await replicas?.close();
      await shared?.close();
      // Last: every request's span has ended by now, so the final export holds them all.
      await telemetry?.shutdown();
      await store?.close();
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
