// Restarts under load, with the gateway as a real child process: SIGTERM drains (503 for new
// requests, in-flight ones finish, every row flushed, exit 0); SIGKILL loses at most the rows not
// yet flushed, and a restart duplicates nothing.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { seedKey, startChildGateway, type ChildGateway } from '../support/child-gateway.js';
import { startFakeUpstream, type FakeUpstream, type FakeUpstreamOptions } from '../support/fake-upstream.js';
import { framedGenerate } from '../support/fixtures.js';
import { UPSTREAM_KEY } from '../support/harness.js';
import { rawRequest } from '../support/raw-http.js';

const STREAM = 'google-stream-no-args-tool-call';
let dir: string;
let dbPath: string;
let key: string;
let fake: FakeUpstream | undefined;
const children: ChildGateway[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ggw-shutdown-'));
  dbPath = join(dir, 'gateway.db');
  key = await seedKey(dbPath);
});
afterEach(async () => {
  for (const c of children.splice(0)) if (c.process.exitCode === null && c.process.signalCode === null) c.process.kill('SIGKILL');
  await fake?.close();
  fake = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function gateway(env: Record<string, string> = {}, fakeOpts: Partial<FakeUpstreamOptions> = {}) {
  fake ??= await startFakeUpstream({ upstreamKey: UPSTREAM_KEY, forbiddenSecrets: () => [key], ...fakeOpts });
  const child = await startChildGateway({ DATABASE_PATH: dbPath, UPSTREAM_BASE_URL: fake.url, GEMINI_API_KEY: UPSTREAM_KEY, ...env });
  children.push(child);
  return child;
}

const headers = () => ({ 'x-goog-api-key': key, 'content-type': 'application/json' });
const unary = (url: string) => rawRequest(`${url}/v1beta/models/google-text:generateContent`, { headers: headers(), body: '{}' });
const stream = (url: string) => rawRequest(`${url}/v1beta/models/${STREAM}:streamGenerateContent?alt=sse`, { headers: headers(), body: '{}' });

function readRows(): Array<{ request_id: string; outcome: string; status: number; usage_json: string | null }> {
  const db = new Database(dbPath, { readonly: true });
  try {
    return db.prepare('SELECT request_id, outcome, status, usage_json FROM usage_events ORDER BY id').all() as never;
  } finally {
    db.close();
  }
}

async function until(what: string, ok: () => boolean, timeoutMs = 20_000) {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function expectNoSecrets(child: ChildGateway) {
  expect(child.output().includes(key)).toBe(false);
  expect(child.output().includes(UPSTREAM_KEY)).toBe(false);
  expect(fake!.violations).toEqual([]);
}

describe('SIGTERM', () => {
  it('under load: new requests get 503, in-flight streams finish, every row is flushed, exit 0', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const metricsToken = 'shutdown-test-metrics-token-0123456789';
    const child = await gateway({ SHUTDOWN_GRACE_MS: '30000', METRICS_TOKEN: metricsToken }, { beforeFrame: (i, rec) => (i === 2 && rec.url.includes('stream') ? gate : undefined) });
    const done = await Promise.all(Array.from({ length: 8 }, () => unary(child.url)));
    expect(done.every((r) => r.status === 200)).toBe(true);

    const inflight = Array.from({ length: 20 }, () => stream(child.url));
    await until('20 streams in flight upstream', () => fake!.requests.filter((r) => r.url.includes('stream')).length === 20);
    child.process.kill('SIGTERM');
    await child.waitForLog((l) => l.msg === 'shutting down: draining in-flight requests');

    const refused = await unary(child.url);
    expect(refused.status).toBe(503);
    expect(refused.headers.connection).toBe('close');
    expect(JSON.parse(refused.body.toString()).error).toMatchObject({ code: 503, status: 'UNAVAILABLE' });
    expect((await rawRequest(`${child.url}/healthz`, { method: 'GET' })).status).toBe(503);
    const readiness = await rawRequest(`${child.url}/readyz`, { method: 'GET' });
    expect(readiness.status).toBe(503);
    expect(JSON.parse(readiness.body.toString())).toEqual({ status: 'unready', reasons: ['draining'] });
    // Still scraped while draining: the in-flight gauge is how an operator watches the drain.
    const scrape = await rawRequest(`${child.url}/metrics`, { method: 'GET', headers: { authorization: `Bearer ${metricsToken}` } });
    expect(scrape.status).toBe(200);
    expect(scrape.body.toString()).toMatch(/^gemini_gateway_/m);
    expect(child.process.exitCode).toBeNull();

    release();
    const streams = await Promise.all(inflight);
    for (const s of streams) {
      expect(s.error).toBeUndefined();
      expect(s.body.equals(framedGenerate(STREAM, '\r\n'))).toBe(true);
    }
    expect(await child.exited).toEqual({ code: 0, signal: null });
    const rows = readRows();
    expect(rows).toHaveLength(28);
    expect(rows.every((r) => r.outcome === 'ok' && r.usage_json !== null)).toBe(true);
    expect(new Set(rows.map((r) => r.request_id)).size).toBe(28);
    expect(child.logs.find((l) => l.msg === 'usage flushed')).toBeDefined();
    expectNoSecrets(child);
  });

  it('in-flight requests that outlast SHUTDOWN_GRACE_MS are cut, still recorded, and the process exits 0', async () => {
    const child = await gateway({ SHUTDOWN_GRACE_MS: '500' }, { beforeFrame: (i) => (i === 2 ? new Promise(() => {}) : undefined) });
    const inflight = Array.from({ length: 5 }, () => stream(child.url));
    await until('5 streams in flight upstream', () => fake!.requests.length === 5);
    child.process.kill('SIGTERM');
    expect(await child.exited).toEqual({ code: 0, signal: null });
    for (const s of await Promise.all(inflight)) expect(s.error).toBeDefined();
    expect(child.logs.some((l) => l.msg === 'grace period over; closing remaining connections')).toBe(true);
    const rows = readRows();
    expect(rows).toHaveLength(5);
    // Cut by the gateway's own shutdown: recorded as aborted, with the usage of the frames that did flow.
    expect(rows.every((r) => r.outcome === 'client_aborted' && r.status === 200 && r.usage_json !== null)).toBe(true);
    expectNoSecrets(child);
  });

  it('a second SIGTERM ends a long grace period at once: in-flight requests are cut and recorded, exit 0', async () => {
    const child = await gateway({ SHUTDOWN_GRACE_MS: '600000' }, { beforeFrame: (i) => (i === 2 ? new Promise(() => {}) : undefined) });
    const inflight = Array.from({ length: 3 }, () => stream(child.url));
    await until('3 streams in flight upstream', () => fake!.requests.length === 3);
    child.process.kill('SIGTERM');
    await child.waitForLog((l) => l.msg === 'shutting down: draining in-flight requests');
    child.process.kill('SIGTERM');
    // Well inside the ten-minute grace period: only the second signal can have ended it.
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expect(child.logs.some((l) => l.msg === 'second signal: ending the grace period now')).toBe(true);
    for (const s of await Promise.all(inflight)) expect(s.error).toBeDefined();
    const rows = readRows();
    expect(rows).toHaveLength(3);
    expect(rows.every((r) => r.outcome === 'client_aborted')).toBe(true);
    expect(child.logs.find((l) => l.msg === 'usage flushed')).toBeDefined();
    expectNoSecrets(child);
  });
});

describe('SIGKILL', () => {
  it('loses at most the rows younger than USAGE_FLUSH_INTERVAL_MS, and a restart duplicates nothing', async () => {
    // Rows flushed before the kill survive it.
    const first = await gateway({ USAGE_FLUSH_INTERVAL_MS: '50' });
    const a = await Promise.all(Array.from({ length: 10 }, () => unary(first.url)));
    await until('batch A flushed', () => readRows().length === 10);
    const b = await Promise.all(Array.from({ length: 10 }, () => stream(first.url)));
    first.process.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    const afterKill = readRows();
    expect(afterKill.length).toBeGreaterThanOrEqual(10);
    expect(afterKill.length).toBeLessThanOrEqual(20);
    const ids = (rs: typeof a) => rs.map((r) => r.headers['x-gateway-request-id'] as string);
    expect(afterKill.slice(0, 10).map((r) => r.request_id).sort()).toEqual(ids(a).sort());
    for (const r of afterKill.slice(10)) expect(ids(b)).toContain(r.request_id);

    // With a long interval nothing was flushed yet: exactly the documented loss.
    const lazy = await gateway({ USAGE_FLUSH_INTERVAL_MS: '600000' });
    const c = await Promise.all(Array.from({ length: 5 }, () => unary(lazy.url)));
    expect(c.every((r) => r.status === 200)).toBe(true);
    lazy.process.kill('SIGKILL');
    await lazy.exited;
    expect(readRows()).toHaveLength(afterKill.length);

    // A restart on the same file writes only its own rows.
    const again = await gateway();
    const d = await Promise.all(Array.from({ length: 5 }, () => unary(again.url)));
    again.process.kill('SIGTERM');
    expect(await again.exited).toEqual({ code: 0, signal: null });
    const final = readRows();
    expect(final).toHaveLength(afterKill.length + 5);
    expect(new Set(final.map((r) => r.request_id)).size).toBe(final.length);
    expect(final.slice(-5).map((r) => r.request_id).sort()).toEqual(ids(d).sort());
    const db = new Database(dbPath, { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });
});
