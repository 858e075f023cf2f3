// Shared by the global setup (which probes once per run) and the per-file helper (which creates databases).
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
