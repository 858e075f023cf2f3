import { auditCommands } from '../../src/cli/audit.js';
import type { Command } from '../../src/cli/command.js';
import { keyCommands } from '../../src/cli/keys.js';
import { limitCommands } from '../../src/cli/limits.js';
import { priceCommands } from '../../src/cli/prices.js';
import { projectCommands } from '../../src/cli/projects.js';
import { runCli } from '../../src/cli/run.js';
import { tenantCommands } from '../../src/cli/tenants.js';
import { upstreamKeyCommands } from '../../src/cli/upstream-keys.js';
import type { Clock } from '../../src/clock.js';
import { parseConfig } from '../../src/config.js';

const COMMANDS: Command[] = [...tenantCommands, ...projectCommands, ...keyCommands, ...upstreamKeyCommands, ...limitCommands, ...auditCommands, ...priceCommands];

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (for --json runs). */
  json(): any;
}

/**
 * Runs the CLI in-process against a database file, with its own connection like the real
 * command. Commands are synchronous, so capturing process output around the call is safe.
 */
export function cli(env: Record<string, string>, argv: string[], clock?: Clock): CliResult {
  let stdout = '';
  let stderr = '';
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string) => ((stdout += s), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => ((stderr += s), true)) as typeof process.stderr.write;
  let code: number;
  try {
    code = runCli(COMMANDS, argv, { config: () => parseConfig(env), clock });
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
  return { code, stdout, stderr, json: () => JSON.parse(stdout) };
}
