import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { printableUrl, scrubDbText } from './pg-url.js';
import * as schema from './schema-pg/index.js';

export type PgDb = NodePgDatabase<typeof schema> & { $client: pg.Pool };

export const PG_MIGRATIONS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../migrations/postgres');

/**
 * Every gateway migrating the same database takes this session-level advisory lock first, so
 * replicas that start together apply each migration exactly once: the first runs them, the others
 * wait, then find nothing left to do. The number is arbitrary but fixed ("ggw" + "migr").
 */
export const MIGRATION_LOCK_ID = 0x67677700_6d696772n;

export interface PostgresOptions {
  url: string;
  poolMax: number;
  statementTimeoutMs: number;
  connectTimeoutMs: number;
  /** Connection errors on idle pooled clients land here (already scrubbed); without a listener they would crash the process. */
  onError?: (message: string) => void;
  migrationsFolder?: string;
}

/** A database error whose message is safe to print: no password, no full connection string. */
export class DatabaseUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatabaseUnavailableError';
  }
}

/**
 * int8 as a JS number (exact to 2^53: epoch ms, nano-USD, token sums) for queries sent straight to the pool
 * (the ledger's batch INSERTs, LISTEN). drizzle passes its own parsers per query: through drizzle, bigint
 * columns map themselves and raw aggregates need `.mapWith(Number)`, as count() does.
 */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

function describe(err: unknown, url: string): string {
  const e = err as { message?: string; code?: string; errors?: Array<{ message?: string }> };
  // An AggregateError (IPv4 and IPv6 both refused) has an empty message; its parts say what happened.
  const text = e.message || e.errors?.map((x) => x.message).join('; ') || e.code || String(err);
  return scrubDbText(text, url);
}

/**
 * Applies migrations/postgres under the advisory lock on a dedicated connection with no statement
 * timeout (waiting for another replica's migration, or a long CREATE INDEX, must not time out).
 */
export async function migratePostgres(opts: Pick<PostgresOptions, 'url' | 'connectTimeoutMs' | 'migrationsFolder'>): Promise<void> {
  const client = new pg.Client({ connectionString: opts.url, connectionTimeoutMillis: opts.connectTimeoutMs, application_name: 'gemini-gateway migrate' });
  client.on('error', () => {}); // surfaced by the awaited calls below
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => {});
    throw new DatabaseUnavailableError(`cannot connect to Postgres at ${printableUrl(opts.url)}: ${describe(err, opts.url)}`);
  }
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID.toString()]);
    try {
      await migrate(drizzle({ client }), { migrationsFolder: opts.migrationsFolder ?? PG_MIGRATIONS_DIR });
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID.toString()]).catch(() => {});
    }
  } catch (err) {
    if (err instanceof DatabaseUnavailableError) throw err;
    throw new DatabaseUnavailableError(`Postgres migration failed: ${describe(err, opts.url)}`);
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Migrates, then opens the pool the services use. Fails with a DatabaseUnavailableError (one
 * printable line) when the server cannot be reached within connectTimeoutMs.
 */
export async function openPostgres(opts: PostgresOptions): Promise<PgDb> {
  await migratePostgres(opts);
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.poolMax,
    connectionTimeoutMillis: opts.connectTimeoutMs,
    statement_timeout: opts.statementTimeoutMs,
    // A transaction left open by a crashed request must not hold locks (and the ledger's rows) forever.
    idle_in_transaction_session_timeout: Math.max(opts.statementTimeoutMs * 2, 10_000),
    application_name: 'gemini-gateway',
    types,
  });
  pool.on('error', (err) => opts.onError?.(`postgres connection error: ${describe(err, opts.url)}`));
  // The pool listens for errors only on idle clients. A checked-out one (a drizzle transaction holds
  // its client across statements) whose connection the server ends would emit 'error' to no one,
  // which ends the process; the statement it was running already rejects with that error.
  pool.on('connect', (client) => client.on('error', () => {}));
  try {
    await pool.query('SELECT 1');
  } catch (err) {
    await pool.end().catch(() => {});
    throw new DatabaseUnavailableError(`cannot connect to Postgres at ${printableUrl(opts.url)}: ${describe(err, opts.url)}`);
  }
  return drizzle({ client: pool, schema }) as PgDb;
}
