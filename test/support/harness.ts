import { GoogleGenAI } from '@google/genai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKeyFor, type CreatedKey } from '../../src/accounts/issue-key.js';
import { systemClock, type Clock } from '../../src/clock.js';
import { parseConfig, type Config } from '../../src/config.js';
import { openDb, type Db } from '../../src/db/client.js';
import { openStore } from '../../src/db/store.js';
import { query } from '../../src/db/dialect.js';
import { createGateway, type Gateway } from '../../src/gateway.js';
import { createLogger } from '../../src/logger.js';
import { envKeySecrets } from '../../src/upstream/key-pool.js';
import { loadTelemetry } from '../../src/telemetry/load.js';
import { startFakeUpstream, type FakeUpstream, type FakeUpstreamOptions } from './fake-upstream.js';
import { watchResponses, type ResponseWatch } from './response-watch.js';
import { freePort } from './free-port.js';
import { createTestDatabase, type TestDatabase } from './postgres.js';

/**
 * Which database the integration suite runs on: the vitest project `postgres` sets
 * TEST_BACKEND=postgres (vitest.config.ts), and each harness then gets a fresh database on the test
 * server, dropped at close().
 */
export const TEST_BACKEND: 'sqlite' | 'postgres' = process.env.TEST_BACKEND === 'postgres' ? 'postgres' : 'sqlite';

export const UPSTREAM_KEY = 'test-FAKE-upstream-key-for-tests-0123456789';
/** Pass as env.ADMIN_TOKEN / env.GATEWAY_SECRET; the harness treats both as secrets that must never be logged. */
export const ADMIN_TOKEN = 'admin-token-for-tests-0123456789';
export const GATEWAY_SECRET = 'gateway-master-secret-for-tests-0123456789abcdef';

export interface AdminResponse<T = any> {
  status: number;
  body: T;
  text: string;
}

/** A second upstream key (its own Google project in the fake), for pool tests. */
export const UPSTREAM_KEY_2 = 'test-FAKE-second-upstream-key-9876543210';

export interface HarnessOptions {
  env?: Record<string, string>;
  /** More upstream keys: accepted by the fake (each its own project) and given to the gateway as GEMINI_API_KEYS. */
  extraUpstreamKeys?: string[];
  /** Path of PUBLIC_BASE_URL (e.g. '/gw'); the gateway is then also reached under `${url}${publicPath}`. */
  publicPath?: string;
  fake?: Partial<FakeUpstreamOptions>;
  clock?: Clock;
  /** Overrides TEST_BACKEND, for a test that runs the same workload on both backends itself. */
  backend?: 'sqlite' | 'postgres';
}

export interface UsageEventRow {
  request_id: string;
  tenant_id: string;
  project_id: string;
  key_id: string;
  upstream_key_id: string | null;
  method: string;
  api_version: string;
  endpoint: string;
  model: string | null;
  stream: number;
  status: number;
  outcome: string;
  prompt_tokens: number | null;
  cached_tokens: number | null;
  output_tokens: number | null;
  thoughts_tokens: number | null;
  tool_use_prompt_tokens: number | null;
  total_tokens: number | null;
  cache_storage_tokens: number | null;
  usage_json: string | null;
  ttfb_ms: number | null;
  latency_ms: number;
  bytes_in: number;
  bytes_out: number;
}

export interface Harness {
  url: string;
  /** PUBLIC_BASE_URL: `url` plus the publicPath option; what SDK clients should use as baseUrl. */
  publicUrl: string;
  fake: FakeUpstream;
  gateway: Gateway;
  /** SQLite: the connection the gateway runs on. Postgres: the harness's own pool on the same database, usable across restarts and after shutdown. Use h.query for raw SQL. */
  db: Db;
  backend: 'sqlite' | 'postgres';
  /** SQLite file (also set on Postgres, unused there). */
  dbPath: string;
  /** The variables that point a CLI (or another process) at this harness's database: DATABASE_PATH, and DATABASE_URL on Postgres. */
  dbEnv: { DATABASE_PATH: string; DATABASE_URL?: string };
  /** Raw SQL with `?` placeholders on either backend; int8 and sums come back as numbers. */
  query<R = any>(sql: string, params?: unknown[]): Promise<R[]>;
  /** The first column of the first row (undefined without one), like better-sqlite3's pluck().get(). */
  scalar<T = any>(sql: string, params?: unknown[]): Promise<T>;
  config: Config;
  logs: string[];
  /** Every secret this harness handed out; none may appear in logs or responses, or reach upstream. */
  secrets: Set<string>;
  createKey(tenant?: string, project?: string): Promise<CreatedKey>;
  /** The project id a key belongs to. */
  projectOf(keyId: string): Promise<string>;
  /** Shuts the gateway down (flushing usage) and boots a new one on the same database file and port; db and gateway change. */
  restart(): Promise<void>;
  sdk(key: string): GoogleGenAI;
  /**
   * Calls the admin API with ADMIN_TOKEN (or `token`, null for none). Secrets in responses become
   * tenant keys the fake upstream must never see; every response is checked for upstream keys at close().
   */
  admin<T = any>(method: string, path: string, body?: unknown, token?: string | null): Promise<AdminResponse<T>>;
  /** Lets the fake upstream accept a project's own key; it must never appear in a log or an admin response. */
  acceptUpstreamKey(secret: string): void;
  /** Flushes the writer and returns the rows, oldest first. */
  rows(): Promise<UsageEventRow[]>;
  /** Waits until at least n rows exist (requests settle after the client saw the last byte). */
  waitForRows(n: number, timeoutMs?: number): Promise<UsageEventRow[]>;
  close(): Promise<void>;
}

/** A real gateway on 127.0.0.1:0 with a real SQLite file and the fixture-replaying fake upstream. */
export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'ggw-test-'));
  const dbPath = join(dir, 'gateway.db');
  const backend = opts.backend ?? TEST_BACKEND;
  const pgDb: TestDatabase | null = backend === 'postgres' ? await createTestDatabase() : null;
  const extra = opts.extraUpstreamKeys ?? [];
  const secrets = new Set<string>([UPSTREAM_KEY, ADMIN_TOKEN, GATEWAY_SECRET, ...extra]);
  if (opts.env?.ADMIN_TOKEN) secrets.add(opts.env.ADMIN_TOKEN);
  const tenantKeys = new Set<string>();
  const upstreamKeys = new Set<string>([UPSTREAM_KEY]);
  const adminTexts: string[] = [];
  const fake = await startFakeUpstream({
    upstreamKey: UPSTREAM_KEY,
    extraKeys: extra,
    moreUpstreamKeys: () => [...upstreamKeys],
    forbiddenSecrets: () => [...tenantKeys, ADMIN_TOKEN, GATEWAY_SECRET],
    ...opts.fake,
  });
  // Upload URLs point at PUBLIC_BASE_URL, so the port must be known before the gateway starts.
  const port = await freePort();
  const config = parseConfig({
    PORT: String(port),
    PUBLIC_BASE_URL: `http://127.0.0.1:${port}${opts.publicPath ?? ''}`,
    ...(extra.length ? { GEMINI_API_KEYS: extra.join(',') } : {}),
    DATABASE_PATH: dbPath,
    ...(pgDb ? { DATABASE_URL: pgDb.url } : {}),
    UPSTREAM_BASE_URL: fake.url,
    GEMINI_API_KEY: UPSTREAM_KEY,
    LOG_LEVEL: 'debug',
    USAGE_FLUSH_INTERVAL_MS: '5',
    ...opts.env,
  });
  // Postgres: the harness's own pool (migrations run here first), so tests can read rows after the gateway closed its own.
  const own = pgDb ? await openStore(config) : null;
  const logs: string[] = [];
  // As main.ts builds it: the known secrets are scrubbed from every line.
  const log = createLogger(config.LOG_LEVEL, { write: (s: string) => void logs.push(s) }, [...envKeySecrets(config), config.ADMIN_TOKEN, config.GATEWAY_SECRET]);
  const clock = opts.clock ?? systemClock;
  // Every server this harness boots (restarts included) has its responses watched for secrets.
  const watches: ResponseWatch[] = [];
  const boot = async () => {
    // SQLite: the harness keeps the file open across restarts. Postgres: the gateway opens its pool and change feed, as main.ts does.
    const given = pgDb ? undefined : openDb(dbPath, { busyTimeoutMs: config.DATABASE_BUSY_TIMEOUT_MS });
    // As main.ts does: the OTel SDK is started only when the OTEL_* variables ask for it.
    const telemetry = config.TELEMETRY
      ? await loadTelemetry({ config: config.TELEMETRY, log })
      : null;
    const gateway = await createGateway({ config, log, db: given, clock, telemetry });
    watches.push(watchResponses(gateway.server, () => [...secrets, ...upstreamKeys]));
    await gateway.listen();
    return { db: own?.db ?? gateway.deps.db, gateway };
  };
  const url = `http://127.0.0.1:${port}`;
  const rows = async () => {
    await h.gateway.deps.recorder.flush();
    return query<UsageEventRow>(h.db, 'SELECT * FROM usage_events ORDER BY id');
  };
  let closed = false;

  const h: Harness = {
    ...(await boot()),
    url, publicUrl: config.PUBLIC_BASE_URL, fake, dbPath, config, logs, secrets, backend,
    dbEnv: { DATABASE_PATH: dbPath, ...(pgDb ? { DATABASE_URL: pgDb.url } : {}) },
    query: (sql, params = []) => query(h.db, sql, params),
    scalar: async (sql, params = []) => {
      const [row] = await query<Record<string, unknown>>(h.db, sql, params);
      return (row ? Object.values(row)[0] : undefined) as never;
    },
    async createKey(tenant = 'acme', project = 'web') {
      const k = await createKeyFor(h.db, clock, { tenant, project });
      secrets.add(k.key);
      tenantKeys.add(k.key);
      return k;
    },
    async projectOf(keyId) {
      const [row] = await query<{ project_id: string }>(h.db, 'SELECT project_id FROM api_keys WHERE id = ?', [keyId]);
      return row!.project_id;
    },
    async restart() {
      await h.gateway.shutdown(2000);
      if (!pgDb) h.db.$client.close();
      // The old server closed its keep-alive sockets; let this process's fetch pool see those FINs
      // before the port is reused, or the next request may be written into a dead socket.
      await new Promise((r) => setTimeout(r, 50));
      Object.assign(h, await boot());
    },
    sdk: (key) => new GoogleGenAI({ apiKey: key, httpOptions: { baseUrl: config.PUBLIC_BASE_URL } }),
    async admin(method, path, body, token = config.ADMIN_TOKEN ?? null) {
      const res = await fetch(url + path, {
        method,
        headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      adminTexts.push(text);
      const parsed = text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text;
      const secret = (parsed as { secret?: unknown })?.secret;
      if (typeof secret === 'string') {
        secrets.add(secret);
        tenantKeys.add(secret);
      }
      return { status: res.status, body: parsed, text };
    },
    acceptUpstreamKey(secret) {
      upstreamKeys.add(secret);
      secrets.add(secret);
    },
    rows,
    async waitForRows(n, timeoutMs = 5000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const r = await rows();
        if (r.length >= n || Date.now() > until) return r;
        await new Promise((res) => setTimeout(res, 5));
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await h.gateway.shutdown(2000);
      await fake.close();
      if (pgDb) {
        await own!.close();
        await pgDb.drop();
      }
      else h.db.$client.close();
      rmSync(dir, { recursive: true, force: true });
      // Gateway-issued Live tokens too, even ones a test never registered as secrets.
      const leaked = logs.filter((line) => [...secrets].some((s) => line.includes(s)) || /auth_tokens\/ggwt_[A-Za-z0-9_-]{8,}/.test(line));
      if (leaked.length) throw new Error(`a secret appeared in ${leaked.length} log line(s)`);
      const leaks = watches.flatMap((w) => w.leaks);
      if (leaks.length) throw new Error(`a secret appeared in a response: ${leaks.join('; ')}`);
      if (adminTexts.some((t) => [...upstreamKeys].some((k) => t.includes(k)))) throw new Error('an upstream key appeared in an admin API response');
      if (fake.violations.length) throw new Error(`fake upstream saw violations: ${fake.violations.join('; ')}`);
    },
  };
  return h;
}

/** Direct SDK client against the fake upstream, the reference every gateway result is compared with. */
export function directSdk(fake: FakeUpstream): GoogleGenAI {
  return new GoogleGenAI({ apiKey: UPSTREAM_KEY, httpOptions: { baseUrl: fake.url } });
}
