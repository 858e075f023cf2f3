import { loadConfig } from '../config.js';
import { auditCommands } from './audit.js';
import type { Command } from './command.js';
import { keyCommands } from './keys.js';
import { limitCommands } from './limits.js';
import { print } from './output.js';
import { priceCommands } from './prices.js';
import { projectCommands } from './projects.js';
import { runCli, runMigrate } from './run.js';
import { tenantCommands } from './tenants.js';
import { upstreamKeyCommands } from './upstream-keys.js';
import { resourceCommands } from './resources.js';
import { usageCommands } from './usage.js';

/** Every command group registers here; the dispatcher picks the longest matching name. */
const COMMANDS: Command[] = [
  ...tenantCommands,
  ...projectCommands,
  ...keyCommands,
  ...upstreamKeyCommands,
  ...limitCommands,
  ...auditCommands,
  ...resourceCommands,
  ...usageCommands,
  ...priceCommands,
  { name: 'migrate', usage: 'migrate                      apply database migrations and exit', run: () => print('database is migrated') },
];

const argv = process.argv.slice(2);
process.exitCode = argv[0] === 'migrate' && argv.length === 1 ? await runMigrate(loadConfig) : runCli(COMMANDS, argv, { config: loadConfig });
