import { systemClock, type Clock } from '../clock.js';
import { ConfigError, type Config } from '../config.js';
import { openDb } from '../db/client.js';
import { openStore, type Store } from '../db/store.js';
import { DatabaseUnavailableError } from '../db/postgres.js';
import { migratePostgresOnly } from '../db/postgres-boot.js';
import { GatewayError } from '../errors.js';
import type { Command } from './command.js';
import { UsageError } from './output.js';

function help(commands: Command[]): string {
  return `usage: gemini-gateway <command>\n\n${commands.map((c) => `  ${c.usage}`).join('\n')}\n\nAdd --json for machine-readable output. Uses DATABASE_URL (Postgres) or DATABASE_PATH (SQLite, default ./data/gateway.db), like the server.`;
}

interface CliOptions {
  /** Loaded lazily so `--help` works with a broken environment. */
  config: () => Config;
  clock?: Clock;
}

/** Runs one command and resolves with the exit code; errors are one line on stderr. */
export async function runCli(commands: Command[], argv: string[], opts: CliOptions): Promise<number> {
  const two = argv.slice(0, 2).join(' ');
  const cmd = commands.find((c) => c.name === two) ?? commands.find((c) => c.name === argv[0]);
  if (!cmd || argv.includes('--help') || argv.includes('-h')) {
    process.stderr.write(`${help(commands)}\n`);
    return argv.includes('--help') || argv.includes('-h') ? 0 : 1;
  }
  const args = argv.slice(cmd.name.split(' ').length);
  let store: Store | null = null;
  try {
    const config = opts.config();
    // The CLI waits for the server's locks (busy_timeout 5 s) rather than failing at once.
    store = await openStore(config, { busyTimeoutMs: 5000 });
    return (await cmd.run({ db: store.db, clock: opts.clock ?? systemClock, config }, args)) ?? 0;
  } catch (err) {
    const known = err instanceof GatewayError || err instanceof UsageError || err instanceof DatabaseUnavailableError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true;
    process.stderr.write(`gemini-gateway: ${errorLine(err, known)}\n`);
    return 1;
  } finally {
    await store?.close();
  }
}

/** `migrate`: the SQLite file at DATABASE_PATH, or Postgres (under the advisory lock) when DATABASE_URL is set. */
export async function runMigrate(config: () => Config): Promise<number> {
  try {
    const c = config();
    if (c.DATABASE_URL) await migratePostgresOnly(c as Config & { DATABASE_URL: string });
    else openDb(c.DATABASE_PATH).$client.close();
    process.stdout.write('database is migrated\n');
    return 0;
  } catch (err) {
    process.stderr.write(`gemini-gateway: ${errorLine(err, err instanceof DatabaseUnavailableError)}\n`);
    return 1;
  }
}

/**
 * The one line an error gets. A ConfigError's message is a heading with the problems on the lines
 * below it, so cutting at the first newline would print only "invalid configuration:".
 */
function errorLine(err: unknown, known: boolean): string {
  if (err instanceof ConfigError) return `invalid configuration: ${err.problems.join('; ')}`;
  const msg = known ? (err as Error).message : `unexpected error: ${(err as Error).message}`;
  return msg.split('\n')[0]!;
}
