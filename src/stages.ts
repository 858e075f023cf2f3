import type { AppDeps } from './deps.js';
import { metricsStage } from './metrics/stage.js';
import { createScopeStage } from './scopes/stage.js';
import { createUpstreamKeyStage } from './upstream/own-key-stage.js';
import { createOwnershipStage } from './ownership/stage.js';
import type { BatchPoller } from './ownership/batch-poller.js';
import { createQuotaStage } from './quota/stage.js';
import { createKeyStage } from './upstream/pool-stage.js';
import type { ProxyStage, UpstreamCredential } from './exchange/stage.js';
import { createTelemetryStages } from './telemetry/stage.js';
import { envKeySecrets } from './upstream/key-pool.js';

/**
 * The data plane's steps, in order: who may call what (scopes), whose resources it touches
 * (ownership: refuses foreign ones, pins the owning upstream key), which upstream key serves it
 * (bring-your-own-key, then the pool), whether the budget allows it (quotas). Each lives in its
 * own module; this list is the one place that orders them.
 */
export function createStages(deps: Omit<AppDeps, 'stages'>, batchPoller: BatchPoller | null): ProxyStage[] {
  const { config, log, keyPool, resources, recorder, upstream, telemetry } = deps;
  const stages: ProxyStage[] = [
    // First, so its after() counts every request, including ones later stages refuse.
    metricsStage(deps.metrics),
    createScopeStage(deps.clientAddress),
    createOwnershipStage({
      store: resources,
      recorder,
      quotas: deps.quotas,
      log,
      config,
      upstreamBasePath: upstream.basePath,
      // With replicas, what another replica created reaches the database at its ledger's next flush.
      unknownRecheck: config.REDIS_URL ? { tries: 6, everyMs: config.USAGE_FLUSH_INTERVAL_MS + 50 } : null,
      lists: {
        keys: (ctx) => listKeys(deps, ctx.upstreamKey),
        maxPages: config.LIST_MAX_UPSTREAM_PAGES,
      },
      settleBeforeDelete: batchPoller ? (name) => batchPoller.settle(name) : null,
    }),
    // Bring-your-own-key picks the project's key; the pool stage then leaves it alone (no failover),
    // except that a pinned resource always goes to the key that holds it.
    createUpstreamKeyStage(deps),
    createKeyStage(keyPool, config, log),
    createQuotaStage(deps),
  ];
  if (!telemetry) return stages;
  // OpenTelemetry (only when configured): its span opens before every other stage and the upstream call starts after the last.
  const { open, admitted } = createTelemetryStages({
    telemetry,
    upstream: new URL(config.UPSTREAM_BASE_URL),
    captureContent: config.TELEMETRY?.captureContent === true,
    secrets: envKeySecrets(config),
  });
  return [open, ...stages, admitted];
}

/** A listing walks every usable pool key's project, or just the key an earlier stage chose (bring-your-own-key). */
function listKeys({ keyPool }: Pick<AppDeps, 'keyPool'>, chosen: UpstreamCredential | { id: null; secret: string } | null): UpstreamCredential[] {
  if (chosen?.id && !keyPool.get(chosen.id)) return [chosen as UpstreamCredential];
  const pooled = keyPool.health().filter((k) => k.state !== 'disabled').map((k) => keyPool.get(k.id)!);
  return pooled.length ? pooled : chosen ? [{ id: 'default', secret: chosen.secret }] : [];
}
