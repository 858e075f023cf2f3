// Several real gateway processes sharing one database and one Redis, behind a round-robin client.
// The database is a SQLite file today; `sharedDatabase()` is the one place to point them at Postgres.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKeyFor } from '../../src/accounts/issue-key.js';
import { systemClock } from '../../src/clock.js';
import { openDb } from '../../src/db/client.js';
import { startChildGateway, type ChildGateway } from './child-gateway.js';
import { startFakeUpstream, type FakeUpstream, type FakeUpstreamOptions } from './fake-upstream.js';
import { ADMIN_TOKEN, UPSTREAM_KEY } from './harness.js';
import { dropPrefix, testPrefix, TEST_REDIS_URL } from './redis-server.js';

export interface Replicas {
  gateways: ChildGateway[];
  fake: FakeUpstream;
  key: string;
  keyId: string;
  projectId: string;
  prefix: string;
  dbPath: string;
  /** The next replica in round-robin order. */
  next(): ChildGateway;
  /** Starts one more replica with the same environment (plus `env`). */
  add(env?: Record<string, string>): Promise<ChildGateway>;
  admin(method: string, path: string, body?: unknown, via?: ChildGateway): Promise<{ status: number; json: any }>;
  /** usage_events rows, read from the shared database. */
  rows(): Array<{ request_id: string; status: number; outcome: string; total_tokens: number }>;
  close(): Promise<void>;
}

/** The database every replica opens: a SQLite file now; with Postgres this returns { DATABASE_URL }. */
function sharedDatabase(dir: string): { env: Record<string, string>; path: string } {
  const path = join(dir, 'gateway.db');
  return { env: { DATABASE_PATH: path }, path };
}

export async function startReplicas(n: number, { env = {}, fake: fakeOpts = {}, redisUrl = TEST_REDIS_URL }: { env?: Record<string, string>; fake?: Partial<FakeUpstreamOptions>; redisUrl?: string } = {}): Promise<Replicas> {
  const dir = mkdtempSync(join(tmpdir(), 'ggw-replicas-'));
  const db = sharedDatabase(dir);
  const seeded = openDb(db.path);
  const created = createKeyFor(seeded, systemClock, { tenant: 'acme', project: 'web' });
  const projectId = (seeded.$client.prepare('SELECT project_id FROM api_keys WHERE id = ?').pluck().get(created.id) as string);
  seeded.$client.close();
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
    gateways, fake, key: created.key, keyId: created.id, projectId, prefix, dbPath: db.path, add,
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
      const d = new Database(db.path, { readonly: true });
      try {
        return d.prepare("SELECT request_id, status, outcome, COALESCE(total_tokens, 0) AS total_tokens FROM usage_events ORDER BY id").all() as never;
      } finally {
        d.close();
      }
    },
    async close() {
      for (const g of gateways) if (g.process.exitCode === null && g.process.signalCode === null) g.process.kill('SIGKILL');
      await Promise.all(gateways.map((g) => g.exited));
      await fake.close();
      await dropPrefix(redisUrl, prefix).catch(() => {});
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
