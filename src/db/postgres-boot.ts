import type { Config } from '../config.js';
import { migratePostgres, openPostgres, type PgDb } from './postgres.js';

/** The pool and migration options a Postgres-backed process uses, from config (only config.ts reads env). */
export function postgresOptions(config: Config, url: string, onError?: (message: string) => void) {
  return {
    url,
    poolMax: config.PG_POOL_MAX,
    statementTimeoutMs: config.PG_STATEMENT_TIMEOUT_MS,
    connectTimeoutMs: config.PG_CONNECT_TIMEOUT_MS,
    onError,
  };
}

/** Boot step for DATABASE_URL: connect, migrate under the advisory lock, open the pool. */
export function bootPostgres(config: Config & { DATABASE_URL: string }, onError?: (message: string) => void): Promise<PgDb> {
  return openPostgres(postgresOptions(config, config.DATABASE_URL, onError));
}

/** `gemini-gateway migrate` on Postgres: migrate and close, no pool. */
export function migratePostgresOnly(config: Config & { DATABASE_URL: string }): Promise<void> {
  return migratePostgres(postgresOptions(config, config.DATABASE_URL));
}
