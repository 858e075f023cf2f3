import { systemClock, type Clock } from '../clock.js';
import { ConfigError, type Config } from '../config.js';
import { openDb, type Db } from '../db/client.js';
import { DatabaseUnavailableError } from '../db/postgres.js';
import { migratePostgresOnly } from '../db/postgres-boot.js';
import { GatewayError } from '../errors.js';
import type { Command } from './command.js';
import { UsageError } from './output.js';

function help(commands: Command[]): string {
  return `usage: gemini-gateway <command>\n\n${commands.map((c) => `  ${c.usage}`).join('\n')}\n\nAdd --json for machine-readable output. Uses DATABASE_PATH (default ./data/gateway.db), like the server.`;
}

interface CliOptions {
  /** Loaded lazily so `--help` works with a broken environment. */
  config: () => Config;
  clock?: Clock;
}

/** Runs one command synchronously and returns the exit code; errors are one line on stderr. */
export function runCli(commands: Command[], argv: string[], opts: CliOptions): number {
  const two = argv.slice(0, 2).join(' ');
  const cmd = commands.find((c) => c.name === two) ?? commands.find((c) => c.name === argv[0]);
  if (!cmd || argv.includes('--help') || argv.includes('-h')) {
    process.stderr.write(`${help(commands)}\n`);
    return argv.includes('--help') || argv.includes('-h') ? 0 : 1;
  }
  const args = argv.slice(cmd.name.split(' ').length);
  let db: Db | null = null;
  try {
    const config = opts.config();
    if (config.DATABASE_URL) throw new UsageError(`\`${cmd.name}\` works on SQLite only for now; unset DATABASE_URL (only \`migrate\` supports Postgres yet)`);
    db = openDb(config.DATABASE_PATH);
    return cmd.run({ db, clock: opts.clock ?? systemClock, config }, args) ?? 0;
  } catch (err) {
    const known = err instanceof ConfigError || err instanceof GatewayError || err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    const msg = known ? (err as Error).message : `unexpected error: ${(err as Error).message}`;
    process.stderr.write(`gemini-gateway: ${msg.split('\n')[0]}\n`);
    return 1;
  } finally {
    db?.$client.close();
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
    const known = err instanceof ConfigError || err instanceof DatabaseUnavailableError;
    const msg = known ? (err as Error).message : `unexpected error: ${(err as Error).message}`;
    process.stderr.write(`gemini-gateway: ${msg.split('\n')[0]}\n`);
    return 1;
  }
}
