import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { listenForChanges, type ChangeFeed } from '../../src/db/pg-changes.js';
import { migratePostgres } from '../../src/db/postgres.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from '../support/postgres.js';
import { startTcpProxy } from '../support/tcp-proxy.js';

/**
 * The "changes seen within one second": every gateway on the database learns of a commit by
 * any process (another gateway, the CLI) through LISTEN/NOTIFY, including after its connection dropped.
 */
describe.runIf(postgresAvailable)('Postgres change feed', () => {
  let db: TestDatabase;
  let writer: pg.Client;
  const feeds: ChangeFeed[] = [];
  const open = async () => {
    const f = await listenForChanges({ url: db.url, connectTimeoutMs: 5000, reconnectMs: 50 });
    feeds.push(f);
    return f;
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    await migratePostgres({ url: db.url, connectTimeoutMs: 5000 });
    writer = new pg.Client({ connectionString: db.url });
    await writer.connect();
  });
  afterAll(async () => {
    for (const f of feeds) await f.close();
    await writer?.end();
    await db?.drop();
  });

  it('tells every listening gateway which table changed, within 1 s of the commit', async () => {
    const [a, b] = [await open(), await open()];
    const seen: string[] = [];
    b.onChange((t) => seen.push(t));
    const before = [a.counter(), b.counter()];
    await writer.query("INSERT INTO tenants (id, slug, name, created_at, updated_at) VALUES ('t1', 'acme', 'Acme', 1, 1)");
    await vi.waitFor(() => expect([a.counter(), b.counter()]).toEqual([before[0]! + 1, before[1]! + 1]), { timeout: 1000, interval: 10 });
    expect(seen).toEqual(['tenants']);
  });

  it('says nothing for a rolled-back transaction, and once for a transaction touching a table many times', async () => {
    const f = await open();
    const seen: string[] = [];
    f.onChange((t) => seen.push(t));
    await writer.query('BEGIN');
    await writer.query("UPDATE tenants SET name = 'x' WHERE id = 't1'");
    await writer.query('ROLLBACK');
    await writer.query('BEGIN');
    await writer.query("INSERT INTO projects (id, tenant_id, slug, name, created_at, updated_at) VALUES ('p1', 't1', 'web', 'Web', 1, 1)");
    await writer.query("UPDATE projects SET name = 'Web 2' WHERE id = 'p1'");
    await writer.query('COMMIT');
    await vi.waitFor(() => expect(seen).toContain('projects'), { timeout: 1000, interval: 10 });
    expect(seen).toEqual(['projects']);
  });

  it('ignores the usage writer touching last_used_at, but not a revocation', async () => {
    const f = await open();
    const seen: string[] = [];
    f.onChange((t) => seen.push(t));
    await writer.query("INSERT INTO api_keys (id, project_id, prefix, hash, created_at, updated_at) VALUES ('k1', 'p1', 'ggw_x', 'h1', 1, 1)");
    await vi.waitFor(() => expect(seen).toEqual(['api_keys']), { timeout: 1000, interval: 10 });
    await writer.query("UPDATE api_keys SET last_used_at = 5 WHERE id = 'k1'");
    await writer.query("UPDATE api_keys SET revoked_at = 6 WHERE id = 'k1'");
    await vi.waitFor(() => expect(seen).toEqual(['api_keys', 'api_keys']), { timeout: 1000, interval: 10 });
  });

  it('a dropped connection counts as a change, and the feed reconnects and keeps listening', async () => {
    const f = await open();
    const seen: string[] = [];
    f.onChange((t) => seen.push(t));
    await writer.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'gemini-gateway listen' AND datname = current_database()");
    await vi.waitFor(() => expect(seen).toContain('*'), { timeout: 2000, interval: 10 });
    await vi.waitFor(() => expect(f.listening()).toBe(true), { timeout: 5000, interval: 20 });
    const seenBefore = seen.length;
    await writer.query("UPDATE tenants SET name = 'back' WHERE id = 't1'");
    await vi.waitFor(() => expect(seen.slice(seenBefore)).toContain('tenants'), { timeout: 1000, interval: 10 });
  });
  it('a connection that goes silent without closing counts as lost within 1 s, and the feed listens again once the network is back', async () => {
    const target = new URL(db.url);
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    try {
      const f = await listenForChanges({ url: proxy.via(db.url), connectTimeoutMs: 5000, reconnectMs: 50, maxReconnectMs: 200 });
      feeds.push(f);
      const seen: string[] = [];
      f.onChange((t) => seen.push(t));
      // Every packet dropped, nothing reset: the notification of this commit never arrives.
      proxy.freeze();
      const at = Date.now();
      await writer.query("UPDATE tenants SET name = 'silent' WHERE id = 't1'");
      await vi.waitFor(() => expect(seen).toContain('*'), { timeout: 3000, interval: 10 });
      expect(Date.now() - at).toBeLessThan(1000);
      expect(f.listening()).toBe(false);
      proxy.thaw();
      await vi.waitFor(() => expect(f.listening()).toBe(true), { timeout: 5000, interval: 20 });
      const seenBefore = seen.length;
      await writer.query("UPDATE tenants SET name = 'heard' WHERE id = 't1'");
      await vi.waitFor(() => expect(seen.slice(seenBefore)).toContain('tenants'), { timeout: 1000, interval: 10 });
    } finally {
      await proxy.close();
    }
  });
});
