// Shared by the global setup (which probes once per run), the per-file helper and the benches (which create databases).
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The server the Postgres matrix uses; the database in the URL is only where new test databases are created from. */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

/** Set by .ci/run: a missing server is then a test failure instead of a matrix that did not run. */
export const REQUIRE_POSTGRES = process.env.REQUIRE_POSTGRES === '1';

/** The URL without its password, for messages. */
export function shownUrl(url = TEST_DATABASE_URL): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

/** Whether a server answers `SELECT 1` within timeoutMs; the reason when it does not. */
export async function probePostgres(url = TEST_DATABASE_URL, timeoutMs = 3000): Promise<{ ok: true } | { ok: false; reason: string }> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return { ok: true };
  } catch (err) {
    const e = err as { message?: string; code?: string };
    return { ok: false, reason: e.message || e.code || 'no answer' };
  } finally {
    await client.end().catch(() => {});
  }
}

export interface TestDatabase {
  /** Connection string of the new, empty database. */
  url: string;
  name: string;
  drop(): Promise<void>;
}

async function admin<T>(run: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 5000 });
  client.on('error', () => {});
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** `CREATE DATABASE gw_test_<random>` on the test server; drop() removes it, ending any connection still open. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `gw_test_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const u = new URL(TEST_DATABASE_URL);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    name,
    drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}
