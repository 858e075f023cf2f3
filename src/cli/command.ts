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
  /** A returned number is the exit code (a check that found something: 1); nothing means 0. */
  run(ctx: CliContext, args: string[]): void | number;
}
