import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getTableName, is, sql } from 'drizzle-orm';
import { PgTable } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabaseUnavailableError, PG_MIGRATIONS_DIR, migratePostgres, openPostgres } from '../../src/db/postgres.js';
import * as pgSchema from '../../src/db/schema-pg/index.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from '../support/postgres.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const journal = JSON.parse(readFileSync(path.join(PG_MIGRATIONS_DIR, 'meta/_journal.json'), 'utf8')) as { entries: unknown[] };
const declaredTables = (Object.values(pgSchema) as unknown[]).filter((v): v is PgTable => is(v, PgTable)).map((t) => getTableName(t)).sort();

/** A gateway process as operators start it, with only the given environment. */
function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'info', PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

async function query<T extends pg.QueryResultRow>(url: string, text: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(text)).rows;
  } finally {
    await c.end();
  }
}

const appliedMigrations = (url: string) => query<{ hash: string }>(url, 'SELECT hash FROM drizzle.__drizzle_migrations');
const publicTables = async (url: string) =>
  (await query<{ table_name: string }>(url, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")).map((r) => r.table_name).sort();

/** A local port nothing listens on. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

describe.runIf(postgresAvailable)('Postgres boot', () => {
  const dbs: TestDatabase[] = [];
  const fresh = async () => {
    const db = await createTestDatabase();
    dbs.push(db);
    return db;
  };
  afterAll(async () => {
    for (const db of dbs) await db.drop();
  });

  it('migrates an empty database to every table of the Postgres schema', async () => {
    const { url } = await fresh();
    await migratePostgres({ url, connectTimeoutMs: 5000 });
    expect(await publicTables(url)).toEqual(declaredTables);
    expect(await appliedMigrations(url)).toHaveLength(journal.entries.length);
    // A second boot finds nothing left to do.
    await migratePostgres({ url, connectTimeoutMs: 5000 });
    expect(await appliedMigrations(url)).toHaveLength(journal.entries.length);
  });

  it('migrates exactly once when several gateways open an empty database together', async () => {
    const { url } = await fresh();
    const opens = await Promise.allSettled(
      Array.from({ length: 4 }, () => openPostgres({ url, poolMax: 2, statementTimeoutMs: 5000, connectTimeoutMs: 5000 })),
    );
    expect(opens.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
    for (const o of opens) if (o.status === 'fulfilled') await o.value.$client.end();
    expect(await appliedMigrations(url)).toHaveLength(journal.entries.length);
    expect(await publicTables(url)).toEqual(declaredTables);
  });

  it('two `gemini-gateway migrate` processes started together on an empty database both succeed, migrating once', async () => {
    const { url } = await fresh();
    const [a, b] = await Promise.all([run(['src/cli/index.ts', 'migrate'], { DATABASE_URL: url }), run(['src/cli/index.ts', 'migrate'], { DATABASE_URL: url })]);
    expect([a.code, b.code], a.stderr + b.stderr).toEqual([0, 0]);
    expect(a.stdout + b.stdout).toContain('database is migrated');
    expect(await appliedMigrations(url)).toHaveLength(journal.entries.length);
  });

  it('sets the statement timeout on every pooled connection, and a slow statement is cancelled', async () => {
    const { url } = await fresh();
    const db = await openPostgres({ url, poolMax: 2, statementTimeoutMs: 300, connectTimeoutMs: 5000 });
    try {
      const shown = await db.$client.query<{ statement_timeout: string }>('SHOW statement_timeout');
      expect(shown.rows[0]!.statement_timeout).toBe('300ms');
      await expect(db.$client.query('SELECT pg_sleep(5)')).rejects.toMatchObject({ code: '57014' });
    } finally {
      await db.$client.end();
    }
  });

  it('reads int8 columns back as numbers, through drizzle, mapped sql and the raw pool alike', async () => {
    const { url } = await fresh();
    const db = await openPostgres({ url, poolMax: 1, statementTimeoutMs: 5000, connectTimeoutMs: 5000 });
    try {
      const at = 1_795_290_166_177;
      await db.insert(pgSchema.tenants).values({ id: 't1', slug: 'acme', name: 'Acme', createdAt: at, updatedAt: at });
      const [row] = await db.select().from(pgSchema.tenants);
      expect(row).toMatchObject({ id: 't1', createdAt: at, labels: '{}', disabledAt: null });
      const [mapped] = await db.select({ n: sql`count(*)`.mapWith(Number), total: sql`sum(${pgSchema.tenants.createdAt})`.mapWith(Number) }).from(pgSchema.tenants);
      expect(mapped).toEqual({ n: 1, total: at });
      const raw = await db.$client.query('SELECT created_at, count(*) AS n FROM tenants GROUP BY created_at');
      expect(raw.rows[0]).toEqual({ created_at: at, n: 1 });
    } finally {
      await db.$client.end();
    }
  });

  it('refuses a second live tenant with the same slug, as SQLite does (partial unique index)', async () => {
    const { url } = await fresh();
    const db = await openPostgres({ url, poolMax: 1, statementTimeoutMs: 5000, connectTimeoutMs: 5000 });
    try {
      await db.insert(pgSchema.tenants).values({ id: 't1', slug: 'acme', name: 'A', createdAt: 1, updatedAt: 1, deletedAt: 5 });
      await db.insert(pgSchema.tenants).values({ id: 't2', slug: 'acme', name: 'A', createdAt: 2, updatedAt: 2 });
      await expect(db.insert(pgSchema.tenants).values({ id: 't3', slug: 'acme', name: 'A', createdAt: 3, updatedAt: 3 })).rejects.toMatchObject({ cause: { code: '23505' } });
    } finally {
      await db.$client.end();
    }
  });
});

// No server needed: these point at a port nothing listens on.
describe('Postgres unreachable at start', () => {
  const password = 'pw-Sup3rSecret-9f2c';
  let url: string;
  beforeAll(async () => {
    url = `postgres://gateway:${password}@127.0.0.1:${await closedPort()}/gateway`;
  });

  it('openPostgres fails with one printable line that names the host but not the password', async () => {
    const err = await openPostgres({ url, poolMax: 1, statementTimeoutMs: 1000, connectTimeoutMs: 2000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseUnavailableError);
    const message = (err as Error).message;
    expect(message).toMatch(/^cannot connect to Postgres at postgres:\/\/gateway:\*\*\*@127\.0\.0\.1:\d+\/gateway: .+/);
    expect(message).not.toContain(password);
    expect(message.split('\n')).toHaveLength(1);
  });

  it('the server process prints one clear error line, exits non-zero and never shows the password', async () => {
    const res = await run(['src/main.ts'], { DATABASE_URL: url, PG_CONNECT_TIMEOUT_MS: '2000' });
    expect(res.code).not.toBe(0);
    const lines = res.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^gemini-gateway: cannot connect to Postgres at postgres:\/\/gateway:\*\*\*@127\.0\.0\.1:\d+\/gateway: /);
    expect(res.stdout + res.stderr).not.toContain(password);
  });

  it('`gemini-gateway migrate` does the same', async () => {
    const res = await run(['src/cli/index.ts', 'migrate'], { DATABASE_URL: url, PG_CONNECT_TIMEOUT_MS: '2000' });
    expect(res.code).toBe(1);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).toContain('cannot connect to Postgres');
    expect(res.stdout + res.stderr).not.toContain(password);
  });
});
