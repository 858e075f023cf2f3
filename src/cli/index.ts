import { loadConfig } from '../config.js';
import { auditCommands } from './audit.js';
import type { Command } from './command.js';
import { keyCommands } from './keys.js';
import { print } from './output.js';
import { projectCommands } from './projects.js';
import { runCli } from './run.js';
import { tenantCommands } from './tenants.js';
import { upstreamKeyCommands } from './upstream-keys.js';
import { resourceCommands } from './resources.js';

/** Every command group registers here; the dispatcher picks the longest matching name. */
const COMMANDS: Command[] = [
  ...tenantCommands,
  ...projectCommands,
  ...keyCommands,
  ...upstreamKeyCommands,
  ...auditCommands,
  ...resourceCommands,
  { name: 'migrate', usage: 'migrate                      apply database migrations and exit', run: () => print('database is migrated') },
];

process.exitCode = runCli(COMMANDS, process.argv.slice(2), { config: loadConfig });
