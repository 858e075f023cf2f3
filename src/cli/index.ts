import { systemClock } from '../clock.js';
import { ConfigError, loadConfig } from '../config.js';
import { openDb, type Db } from '../db/client.js';
import { GatewayError } from '../errors.js';
import type { Command } from './command.js';
import { keyCommands } from './keys.js';
import { limitCommands } from './limits.js';
import { print, UsageError } from './output.js';

/** Every command group registers here; the dispatcher picks the longest matching name. */
const COMMANDS: Command[] = [
  ...keyCommands,
  ...limitCommands,
  { name: 'migrate', usage: 'migrate                      apply database migrations and exit', run: () => print('database is migrated') },
];

function help(): string {
  return `usage: gemini-gateway <command>\n\n${COMMANDS.map((c) => `  ${c.usage}`).join('\n')}\n\nAdd --json for machine-readable output. Uses DATABASE_PATH (default ./data/gateway.db), like the server.`;
}

function run(argv: string[]): number {
  const two = argv.slice(0, 2).join(' ');
  const cmd = COMMANDS.find((c) => c.name === two) ?? COMMANDS.find((c) => c.name === argv[0]);
  if (!cmd || argv.includes('--help') || argv.includes('-h')) {
    process.stderr.write(`${help()}\n`);
    return argv.includes('--help') || argv.includes('-h') ? 0 : 1;
  }
  const args = argv.slice(cmd.name.split(' ').length);
  let db: Db | null = null;
  try {
    const config = loadConfig();
    db = openDb(config.DATABASE_PATH);
    cmd.run({ db, clock: systemClock, config }, args);
    return 0;
  } catch (err) {
    const known = err instanceof ConfigError || err instanceof GatewayError || err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    const msg = known ? (err as Error).message : `unexpected error: ${(err as Error).message}`;
    process.stderr.write(`gemini-gateway: ${msg.split('\n')[0]}\n`);
    return 1;
  } finally {
    db?.$client.close();
  }
}

process.exitCode = run(process.argv.slice(2));
