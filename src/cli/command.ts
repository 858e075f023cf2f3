import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Db } from '../db/client.js';

export interface CliContext {
  db: Db;
  clock: Clock;
  config: Config;
}

/** One CLI command: `name` is one or two words ("keys create"), `usage` one help line. */
export interface Command {
  name: string;
  usage: string;
  run(ctx: CliContext, args: string[]): void | Promise<void>;
}
