// Several real gateway processes sharing one database and one Redis, behind a round-robin client.
// The database is a fresh Postgres database when the test server answers (the setup the issue
// describes), else a SQLite file; `sharedDatabase()` is the one place that picks it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { createKeyFor, type CreatedKey } from '../../src/accounts/issue-key.js';
import { systemClock } from '../../src/clock.js';
import { parseConfig } from '../../src/config.js';
import { query } from '../../src/db/dialect.js';
import { openStore, type Store } from '../../src/db/store.js';
import { startChildGateway, type ChildGateway } from './child-gateway.js';
import { startFakeUpstream, type FakeUpstream, type FakeUpstreamOptions } from './fake-upstream.js';
import { ADMIN_TOKEN, UPSTREAM_KEY } from './harness.js';
import { createTestDatabase } from './postgres-server.js';
import { dropPrefix, testPrefix, TEST_REDIS_URL } from './redis-server.js';

export interface Replicas {
  gateways: ChildGateway[];
  fake: FakeUpstream;
  key: string;
  keyId: string;
  projectId: string;
  prefix: string;
  backend: 'sqlite' | 'postgres';
  /** The next replica in round-robin order. */
  next(): ChildGateway;
  /** Starts one more replica with the same environment (plus `env`). */
  add(env?: Record<string, string>): Promise<ChildGateway>;
  admin(method: string, path: string, body?: unknown, via?: ChildGateway): Promise<{ status: number; json: any }>;
  /** A key created in the shared database by this (test) process, as the CLI would while the replicas run. */
  createKey(tenant: string, project: string): Promise<CreatedKey>;
  /** usage_events rows, read from the shared database. */
  rows(): Promise<Array<{ request_id: string; status: number; outcome: string; total_tokens: number }>>;
  close(): Promise<void>;
}

interface SharedDatabase {
  backend: 'sqlite' | 'postgres';
  env: Record<string, string>;
  /** This process's own handle (it migrates the database first), for seeding and reading rows. */
  store: Store;
  drop(): Promise<void>;
}

/** The database every replica opens: a fresh Postgres database when the server answers (dropped at close), else a SQLite file. */
async function sharedDatabase(dir: string, backend: 'sqlite' | 'postgres'): Promise<SharedDatabase> {
  if (backend === 'postgres') {
    const pg = await createTestDatabase();
    const env = { DATABASE_URL: pg.url };
    return { backend, env, store: await openStore(parseConfig(env)), drop: () => pg.drop() };
  }
  const env = { DATABASE_PATH: join(dir, 'gateway.db') };
  return { backend, env, store: await openStore(parseConfig(env)), drop: async () => {} };
}

export interface ReplicaOptions {
  env?: Record<string, string>;
  fake?: Partial<FakeUpstreamOptions>;
  redisUrl?: string;
  /** Default: Postgres when the test server answers. SQLite (one file, several processes) is a supported setup too. */
  backend?: 'sqlite' | 'postgres';
}

export async function startReplicas(n: number, { env = {}, fake: fakeOpts = {}, redisUrl = TEST_REDIS_URL, backend }: ReplicaOptions = {}): Promise<Replicas> {
  const dir = mkdtempSync(join(tmpdir(), 'ggw-replicas-'));
  const db = await sharedDatabase(dir, backend ?? (inject('postgresAvailable') ? 'postgres' : 'sqlite'));
  const createKey = (tenant: string, project: string) => createKeyFor(db.store.db, systemClock, { tenant, project });
  const created = await createKey('acme', 'web');
  const [owner] = await query<{ project_id: string }>(db.store.db, 'SELECT project_id FROM api_keys WHERE id = ?', [created.id]);
  const projectId = owner!.project_id;
  const fake = await startFakeUpstream({ upstreamKey: UPSTREAM_KEY, forbiddenSecrets: () => [created.key], ...fakeOpts });
  const prefix = testPrefix();
  const base = { ...db.env, UPSTREAM_BASE_URL: fake.url, GEMINI_API_KEY: UPSTREAM_KEY, REDIS_URL: redisUrl, REDIS_KEY_PREFIX: prefix, ADMIN_TOKEN, LOG_LEVEL: 'warn', ...env };
  const gateways: ChildGateway[] = [];
  const add = async (more: Record<string, string> = {}) => {
    const g = await startChildGateway({ ...base, LOG_LEVEL: 'info', ...more });
    gateways.push(g);
    return g;
  };
  // One at a time: the first migrates the database, the others find it migrated.
  for (let i = 0; i < n; i++) await add();
  let turn = 0;
  return {
    gateways, fake, key: created.key, keyId: created.id, projectId, prefix, backend: db.backend, add, createKey,
    next: () => gateways[turn++ % gateways.length]!,
    async admin(method, path, body, via = gateways[0]!) {
      const res = await fetch(`${via.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, json: text ? JSON.parse(text) : null };
    },
    rows() {
      return query(db.store.db, 'SELECT request_id, status, outcome, COALESCE(total_tokens, 0) AS total_tokens FROM usage_events ORDER BY id');
    },
    async close() {
      for (const g of gateways) if (g.process.exitCode === null && g.process.signalCode === null) g.process.kill('SIGKILL');
      await Promise.all(gateways.map((g) => g.exited));
      await fake.close();
      await dropPrefix(redisUrl, prefix).catch(() => {});
      await db.store.close().catch(() => {});
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Resolves once `ok()` holds, polling every 20 ms; fails after timeoutMs naming `what`. */
export async function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Waits, if needed, so that the next `seconds` do not cross a UTC minute boundary (RPM windows). */
export async function clearOfMinuteBoundary(seconds: number): Promise<void> {
  const intoMinute = (Date.now() % 60_000) / 1000;
  if (intoMinute + seconds > 59) await new Promise((r) => setTimeout(r, (60 - intoMinute + 0.2) * 1000));
}
