import { ConfigError, loadConfig, type Config } from './config.js';
import { DatabaseUnavailableError } from './db/postgres.js';
import { printableUrl, scrubDbText } from './db/pg-url.js';
import { urlPasswords, urlWithoutCredentials } from './redact.js';
import { query } from './db/dialect.js';
import cluster from 'node:cluster';
import { createGateway } from './gateway.js';
import { applyHeapGrowingPercent } from './heap-settings.js';
import { runPrimary } from './workers.js';
import { registerGateway, SharedDatabaseError } from './db/gateway-registry.js';
import { registerPostgresGateway } from './db/pg-gateway-registry.js';
import { createLogger, resolveLogFormat, type Logger } from './logger.js';
import { envKeySecrets } from './upstream/key-pool.js';
import { loadTelemetry } from './telemetry/load.js';
import { connectShared, RedisUnavailableError, type SharedState } from './shared/redis.js';

/** Process entry: config → logger → db + migrate → app → serve; SIGTERM/SIGINT drain and flush. */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`gemini-gateway: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  applyHeapGrowingPercent(config.GATEWAY_HEAP_GROWING_PERCENT);
  const format = resolveLogFormat(config.LOG_FORMAT, process.stdout.isTTY === true);
  const log = createLogger(config.LOG_LEVEL, undefined, [...envKeySecrets(config), config.ADMIN_TOKEN, config.GATEWAY_SECRET, ...urlPasswords(config.DATABASE_URL ?? ''), ...urlPasswords(config.REDIS_URL ?? '')], format);
  if (config.GATEWAY_WORKERS !== undefined && cluster.isPrimary) return await runPrimary(config as Config & { GATEWAY_WORKERS: number | 'auto' }, log);
  // Off by default; when on, the OpenTelemetry SDK is imported only now.
  const telemetry = config.TELEMETRY ? await loadTelemetry({ config: config.TELEMETRY, log }) : null;
  const shared = config.REDIS_URL ? await sharedOrExit(config.REDIS_URL, config.REDIS_KEY_PREFIX) : null;
  // Who else serves from this database: a second gateway without REDIS_URL is refused here.
  const registration = await registerOrExit(config, shared !== null, log);
  let gateway;
  try {
    gateway = await createGateway({ config, log, telemetry, shared });
  } catch (err) {
    // Postgres unreachable (or its migration failing): one line an operator can act on, no stack.
    if (err instanceof DatabaseUnavailableError || config.DATABASE_URL) {
      const line = (err as Error).message.split('\n')[0]!;
      process.stderr.write(`gemini-gateway: ${config.DATABASE_URL ? scrubDbText(line, config.DATABASE_URL) : line}\n`);
      process.exit(1);
    }
    throw err;
  }
  const addr = await gateway.listen();
  const [live] = await query<{ n: number }>(gateway.deps.db, 'SELECT count(*) AS n FROM api_keys WHERE revoked_at IS NULL');
  const keyCount = Number(live?.n ?? 0);
  const database = config.DATABASE_URL ? printableUrl(config.DATABASE_URL) : config.DATABASE_PATH;
  log.info(
    { url: `http://${addr.address}:${addr.port}`, database, upstream: urlWithoutCredentials(config.UPSTREAM_BASE_URL), publicBaseUrl: config.PUBLIC_BASE_URL, shared: shared?.shownUrl ?? null, pid: process.pid },
    'gemini-gateway listening',
  );
  startupHints(log, config, keyCount);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      // An operator who signals again wants it over: cut what is still in flight, but flush every row.
      log.warn({ signal }, 'second signal: ending the grace period now');
      gateway.hurry();
      return;
    }
    stopping = true;
    log.info({ signal, graceMs: config.SHUTDOWN_GRACE_MS }, 'shutting down: draining in-flight requests');
    gateway.shutdown().then(
      () => {
        registration.release();
        exitAfterLogs(0);
      },
      (err: Error) => {
        log.error({ err: err.message }, 'shutdown failed');
        exitAfterLogs(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/**
 * Exits once the logger's last lines have had a turn of the event loop to leave. Exiting at once
 * left them to pino's exit hook, which writes synchronously and, when stdout is a broken pipe (the
 * log reader went away: a journald restart, a dead sidecar), retries EPIPE for ever, so SIGTERM
 * never ended the process. Written asynchronously first, the EPIPE is seen and logging switched off.
 */
function exitAfterLogs(code: number): void {
  setTimeout(() => process.exit(code), 100);
}

/** REDIS_URL set but Redis does not answer: one clear line (no password in it) and exit 1. */
async function sharedOrExit(url: string, prefix: string): Promise<SharedState> {
  try {
    return await connectShared(url, prefix);
  } catch (err) {
    if (!(err instanceof RedisUnavailableError)) throw err;
    process.stderr.write(`gemini-gateway: ${err.message}\n`);
    process.exit(1);
  }
}

/** A second gateway on this database without shared state: one line naming the fix, exit 1. */
async function registerOrExit(config: Config, shared: boolean, log: Logger): Promise<{ release(): void }> {
  if (!config.DATABASE_URL && config.DATABASE_PATH === ':memory:') return { release: () => {} };
  try {
    return config.DATABASE_URL
      ? await registerPostgresGateway(config.DATABASE_URL, shared, { connectTimeoutMs: config.PG_CONNECT_TIMEOUT_MS, onLost: (m) => log.error(m) })
      : await registerGateway(config.DATABASE_PATH, shared);
  } catch (err) {
    if (err instanceof SharedDatabaseError || err instanceof DatabaseUnavailableError) {
      process.stderr.write(`gemini-gateway: ${err.message}\n`);
      process.exit(1);
    }
    // The registry sits beside the SQLite file: a path it cannot create (a file where a folder should be) is DATABASE_PATH's fault.
    if (!config.DATABASE_URL && typeof (err as NodeJS.ErrnoException).code === 'string') {
      process.stderr.write(`gemini-gateway: cannot use DATABASE_PATH=${config.DATABASE_PATH}: ${(err as Error).message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

/** Says what is missing in words an operator can act on, instead of failing on the first request. */
function startupHints(log: Logger, config: Config, keyCount: number): void {
  if (!config.GEMINI_API_KEY && !config.GEMINI_API_KEYS) log.warn('no upstream key yet: set GEMINI_API_KEY (or GEMINI_API_KEYS); until then API requests answer 503');
  if (keyCount === 0) log.warn('no gateway keys yet: create one with `npx gemini-gateway keys create --tenant <team> --project <project>`');
}

main().catch((err: Error) => {
  process.stderr.write(`gemini-gateway: failed to start: ${err.message}\n`);
  process.exit(1);
});
