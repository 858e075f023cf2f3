import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Db } from '../db/client.js';
import type { Ledger } from '../ledger/ledger.js';
import type { Logger } from '../logger.js';
import type { Upstream } from '../upstream/connection.js';
import type { UpstreamKeyPool } from '../upstream/key-pool.js';
import { keyFailure } from '../upstream/key-failure.js';
import { createResourceReader } from '../upstream/resource-read.js';
import { createStoredKeySecrets } from '../upstream/stored-keys.js';
import { createBatchPoller, type BatchPoller } from './batch-poller.js';
import type { ResourceStore } from './resource-store.js';
import type { CompletionDeps } from './completion.js';

/** A batch answer with inlined results can be far larger than a request body; past this it is not read. */
const MAX_BATCH_ANSWER_BYTES = 256 * 1024 * 1024;

type PollerConfig = Pick<Config, 'BATCH_POLL_INTERVAL_MS' | 'BATCH_POLL_MAX_INTERVAL_MS' | 'BATCH_POLL_CONCURRENCY' | 'GATEWAY_SECRET'>;

/**
 * The batch poller as the gateway runs it, or null when BATCH_POLL_INTERVAL_MS or
 * BATCH_POLL_CONCURRENCY is 0. A batch is read with the upstream key that created it: a pool key
 * by id, else a project's own stored key; one with no recorded key is read with any pool key.
 */
export function batchPollerFor(deps: { config: PollerConfig; db: Db; log: Logger; clock: Clock; resources: ResourceStore; recorder: Ledger; quotas: CompletionDeps['quotas']; keyPool: UpstreamKeyPool; upstream: Upstream }): BatchPoller | null {
  const { config } = deps;
  if (config.BATCH_POLL_INTERVAL_MS === 0 || config.BATCH_POLL_CONCURRENCY === 0) return null;
  const stored = createStoredKeySecrets(deps);
  return createBatchPoller({
    db: deps.db,
    store: deps.resources,
    recorder: deps.recorder,
    quotas: deps.quotas,
    log: deps.log,
    clock: deps.clock,
    read: createResourceReader(deps.upstream, MAX_BATCH_ANSWER_BYTES),
    credential: (id) => {
      if (id === null) return deps.keyPool.pick();
      if (id.startsWith('env:')) return deps.keyPool.get(id);
      return stored.usableSecretFor(id).then((secret) => (secret === null ? null : { id, secret }));
    },
    onRefused: (keyId, answer) => {
      const failure = keyFailure(answer.status, answer.headers, answer.body);
      if (failure) deps.keyPool.report(keyId, failure);
    },
    intervalMs: config.BATCH_POLL_INTERVAL_MS,
    maxIntervalMs: Math.max(config.BATCH_POLL_MAX_INTERVAL_MS, config.BATCH_POLL_INTERVAL_MS),
    concurrency: config.BATCH_POLL_CONCURRENCY,
  });
}
