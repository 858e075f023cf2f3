import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import type { Config } from './config.js';
import { openDb } from './db/client.js';
import type { Logger } from './logger.js';
import { connectShared, RedisUnavailableError } from './shared/redis.js';

/**
 * GATEWAY_WORKERS: this process becomes the primary of N workers that each run the whole gateway
 * on the one port (node:cluster hands them connections). It migrates the database once before
 * forking, replaces a worker that dies, and passes SIGTERM/SIGINT on (a second one too), exiting when they have drained.
 * Workers share budgets only through Redis, so without REDIS_URL this refuses to start.
 */
export async function runPrimary(config: Config & { GATEWAY_WORKERS: number | 'auto' }, log: Logger): Promise<void> {
  if (!config.REDIS_URL) {
    process.stderr.write(
      'gemini-gateway: GATEWAY_WORKERS needs shared state: every worker would enforce each budget on its own. Set REDIS_URL (Redis ≥ 7 or Valkey), or unset GATEWAY_WORKERS to run one process\n',
    );
    process.exit(1);
  }
  const n = config.GATEWAY_WORKERS === 'auto' ? availableParallelism() : config.GATEWAY_WORKERS;
  // Checked once here, so an unreachable Redis is one message rather than N workers failing in a loop.
  try {
    await (await connectShared(config.REDIS_URL, config.REDIS_KEY_PREFIX)).close();
  } catch (err) {
    if (!(err instanceof RedisUnavailableError)) throw err;
    process.stderr.write(`gemini-gateway: ${err.message}\n`);
    process.exit(1);
  }
  if (!config.DATABASE_URL) openDb(config.DATABASE_PATH).$client.close();
  let stopping = false;
  const listened = new Set<number>();
  const fork = () => cluster.fork();
  cluster.on('listening', (worker) => listened.add(worker.id));
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      // Its in-flight requests and queued rows may be lost: a supervisor should know the drain was not clean.
      if (code !== 0) {
        log.error({ workerPid: worker.process.pid, code, signal }, 'a gateway worker died while draining');
        process.exitCode = 1;
      }
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit();
      return;
    }
    if (!listened.has(worker.id)) {
      // It failed while starting (its own message is on stderr): another would fail the same way.
      log.error({ workerPid: worker.process.pid, code }, 'a gateway worker failed to start; stopping');
      process.exitCode = 1;
      stop('SIGTERM');
      return;
    }
    log.error({ workerPid: worker.process.pid, code, signal }, 'gateway worker died; starting another');
    setTimeout(fork, 500).unref();
  });
  function stop(signal: NodeJS.Signals): void {
    // A second signal is passed on too: each worker then ends its grace period at once.
    if (!stopping) log.info({ signal, workers: n }, 'stopping gateway workers');
    stopping = true;
    const left = Object.values(cluster.workers ?? {});
    if (left.length === 0) process.exit();
    for (const w of left) w?.process.kill(signal);
  }
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  log.info({ workers: n }, 'starting gateway workers');
  for (let i = 0; i < n; i++) fork();
}
