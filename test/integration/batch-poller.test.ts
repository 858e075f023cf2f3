import { afterEach, describe, expect, it } from 'vitest';
import { openDb } from '../../src/db/client.js';
import { createGateway, type Gateway } from '../../src/gateway.js';
import { createLogger } from '../../src/logger.js';
import { envKeyId } from '../../src/upstream/key-pool.js';
import { fakeTokenCount } from '../support/fixtures.js';
import { issueKey } from '../support/admin-fixtures.js';
import { statusOf } from '../support/sdk-status.js';
import { ADMIN_TOKEN, GATEWAY_SECRET, startHarness, UPSTREAM_KEY, UPSTREAM_KEY_2, type Harness, type UsageEventRow } from '../support/harness.js';

const REQUESTS = ['first question here', 'second', 'a third one', 'and the fourth'].map((text) => ({ contents: [{ role: 'user', parts: [{ text }] }] }));
const promptOf = (rs: typeof REQUESTS): number => rs.reduce((n, r) => n + fakeTokenCount(r), 0);
/** gemini-2.5-flash in prices.json: $0.30 in, $2.50 out per 1M tokens; the Batch API bills half. */
const batchCost = (prompt: number, output: number): number => Math.round((prompt * 0.3 + output * 2.5) * 1000 * 0.5);

const FAST_POLL = { BATCH_POLL_INTERVAL_MS: '20', BATCH_POLL_MAX_INTERVAL_MS: '40' };

async function completedRows(h: Harness): Promise<UsageEventRow[]> {
  return (await h.rows()).filter((r) => r.endpoint === 'batches.completed');
}

async function waitFor<T>(probe: () => Promise<T | null | undefined | false>, timeoutMs = 5000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const batchGets = (h: Harness, name: string): number => h.fake.requests.filter((r) => r.method === 'GET' && r.url.endsWith(`/${name}`)).length;
const meteredAt = (h: Harness, name: string): Promise<number | null> => h.scalar('SELECT usage_recorded_at FROM resources WHERE name = ?', [name]);

describe('background batch poller', () => {
  let h: Harness;
  let second: { gateway: Gateway; close(): Promise<void> } | null = null;
  afterEach(async () => {
    await second?.close();
    second = null;
    await h?.close();
  });

  it('meters a batch nobody reads exactly once after it completes, at the batch price, and then stops reading it', async () => {
    h = await startHarness({ env: FAST_POLL, extraUpstreamKeys: [UPSTREAM_KEY_2], fake: { batchRunningPolls: 2 } });
    const key = await h.createKey();
    // Rotate the pool once so the batch lands on the second key: the poller must read it with that one.
    await h.sdk(key.key).models.generateContent({ model: 'gemini-2.5-flash', contents: 'rotate the pool once' });
    const job = await h.sdk(key.key).batches.create({ model: 'gemini-2.5-flash', src: REQUESTS });
    const [row] = await waitFor(async () => {
      const rows = await completedRows(h);
      return rows.length > 0 && rows;
    });
    await new Promise((r) => setTimeout(r, 200)); // several more poll intervals
    expect(await completedRows(h)).toHaveLength(1);
    const prompt = promptOf(REQUESTS);
    expect(row).toMatchObject({
      key_id: key.id,
      project_id: await h.projectOf(key.id),
      upstream_key_id: envKeyId(UPSTREAM_KEY_2),
      model: 'gemini-2.5-flash',
      outcome: 'ok',
      prompt_tokens: prompt,
      output_tokens: 3 * REQUESTS.length,
      total_tokens: prompt + 3 * REQUESTS.length,
    });
    expect((row as unknown as { cost_nano_usd: number }).cost_nano_usd).toBe(batchCost(prompt, 3 * REQUESTS.length));
    expect(await meteredAt(h, job.name!)).not.toBeNull();
    // Two GETs found it running, the third final; none after.
    expect(batchGets(h, job.name!)).toBe(3);
    const reads = h.fake.requests.filter((r) => r.method === 'GET' && r.url.endsWith(`/${job.name}`));
    expect(new Set(reads.map((r) => r.headers['x-goog-api-key']))).toEqual(new Set([UPSTREAM_KEY_2]));
    // A client reading it afterwards adds nothing.
    expect((await h.sdk(key.key).batches.get({ name: job.name! })).state).toBe('JOB_STATE_SUCCEEDED');
    expect(await completedRows(h)).toHaveLength(1);
  });

  it('picks a running batch up again after a restart and meters it once', async () => {
    h = await startHarness({ env: FAST_POLL, fake: { batchRunningPolls: 3 } });
    const key = await h.createKey();
    const job = await h.sdk(key.key).batches.create({ model: 'gemini-2.5-flash', src: REQUESTS.slice(0, 2) });
    await waitFor(async () => batchGets(h, job.name!) >= 1);
    await h.restart();
    expect(await completedRows(h)).toEqual([]);
    const rows = await waitFor(async () => {
      const r = await completedRows(h);
      return r.length > 0 && r;
    });
    await new Promise((r) => setTimeout(r, 150));
    expect(await completedRows(h)).toHaveLength(1);
    expect(rows[0]).toMatchObject({ key_id: key.id, prompt_tokens: promptOf(REQUESTS.slice(0, 2)), outcome: 'ok' });
    expect(batchGets(h, job.name!)).toBe(4);
  });

  it('two gateways on one database that both see a batch finish write one row and one rollup', async () => {
    // Long intervals: the rounds below are driven by hand, and rows reach the database only when flushed.
    const env = { BATCH_POLL_INTERVAL_MS: '3600000', USAGE_FLUSH_INTERVAL_MS: '3600000' };
    h = await startHarness({ env, fake: { batchRunningPolls: 0 } });
    const key = await h.createKey();
    const job = await h.sdk(key.key).batches.create({ model: 'gemini-2.5-flash', src: REQUESTS });
    await h.rows(); // the batch's ownership row reaches the database file
    const logs: string[] = [];
    const log = createLogger('info', { write: (s: string) => void logs.push(s) }, [UPSTREAM_KEY]);
    // SQLite: a second connection on the harness's file. Postgres: the gateway opens its own pool from DATABASE_URL, as main.ts does.
    const db = h.backend === 'sqlite' ? openDb(h.dbPath) : undefined;
    const gateway = await createGateway({ config: { ...h.config, PORT: 0 }, log, db });
    await gateway.listen();
    second = {
      gateway,
      async close() {
        await gateway.shutdown(1000);
        db?.$client.close();
        if (logs.some((l) => l.includes(UPSTREAM_KEY))) throw new Error('upstream key in a log line');
      },
    };

    await Promise.all([h.gateway.batchPoller!.tick(), gateway.batchPoller!.tick()]);
    const noticed = [...h.logs, ...logs].filter((l) => l.includes('batch finished; usage recorded'));
    expect(noticed).toHaveLength(2); // both metered it ...
    await gateway.deps.recorder.flush();
    const rows = await completedRows(h);
    expect(rows).toHaveLength(1); // ... and the row key kept one row
    const [rollup] = await h.query<{ requests: number; tokens: number }>("SELECT SUM(requests) AS requests, SUM(total_tokens) AS tokens FROM usage_rollups_daily WHERE endpoint = 'batches.completed'");
    expect(rollup).toEqual({ requests: 1, tokens: rows[0]!.total_tokens });
    expect(await meteredAt(h, job.name!)).not.toBeNull();
  });

  it('meters a cancelled batch and an expired batch for the requests that completed', async () => {
    h = await startHarness({ env: FAST_POLL, fake: { batchRunningPolls: 1000 } });
    const ai = h.sdk((await h.createKey()).key);
    const job = await ai.batches.create({ model: 'gemini-2.5-flash', src: REQUESTS.slice(0, 3) });
    await waitFor(async () => batchGets(h, job.name!) >= 1);
    expect(await completedRows(h)).toEqual([]);
    await ai.batches.cancel({ name: job.name! });
    const [row] = await waitFor(async () => {
      const r = await completedRows(h);
      return r.length > 0 && r;
    });
    // Two of the three ran before the cancel.
    const prompt = promptOf(REQUESTS.slice(0, 2));
    expect(row).toMatchObject({ outcome: 'upstream_error', prompt_tokens: prompt, output_tokens: 6, total_tokens: prompt + 6 });
    expect((row as unknown as { cost_nano_usd: number }).cost_nano_usd).toBe(batchCost(prompt, 6));
    await h.close();

    h = await startHarness({ env: FAST_POLL, fake: { batchRunningPolls: 1, batchFinalState: 'EXPIRED' } });
    await h.sdk((await h.createKey()).key).batches.create({ model: 'gemini-2.5-flash', src: REQUESTS });
    const [expired] = await waitFor(async () => {
      const r = await completedRows(h);
      return r.length > 0 && r;
    });
    expect(expired).toMatchObject({ outcome: 'upstream_error', prompt_tokens: promptOf(REQUESTS.slice(0, 2)), output_tokens: 6 });
    await new Promise((r) => setTimeout(r, 100));
    expect(await completedRows(h)).toHaveLength(1);
  });

  it('reads a bring-your-own-key project\'s batch with that project\'s own stored key', async () => {
    const OWN_KEY = 'test-OWN-project-key-for-batch-polls-4RtY';
    h = await startHarness({ env: { ...FAST_POLL, ADMIN_TOKEN, GATEWAY_SECRET }, fake: { batchRunningPolls: 1 } });
    h.acceptUpstreamKey(OWN_KEY);
    const own = await issueKey(h, { project: 'own' });
    const stored = await h.admin('POST', '/admin/v1/upstream-keys', { projectId: own.projectId, secret: OWN_KEY, name: 'team billing' });
    expect(stored.status, stored.text).toBe(201);
    const job = await h.sdk(own.secret).batches.create({ model: 'gemini-2.5-flash', src: REQUESTS.slice(0, 1) });
    const [row] = await waitFor(async () => {
      const r = await completedRows(h);
      return r.length > 0 && r;
    });
    expect(row).toMatchObject({ project_id: own.projectId, upstream_key_id: stored.body.id, outcome: 'ok' });
    const reads = h.fake.requests.filter((r) => r.method === 'GET' && r.url.endsWith(`/${job.name}`));
    expect(reads.length).toBe(2);
    expect(new Set(reads.map((r) => r.headers['x-goog-api-key']))).toEqual(new Set([OWN_KEY]));
  });

  it('stops reading with a project\'s own key once an admin disables or revokes it, even after it was used', async () => {
    const OWN_KEY = 'test-OWN-project-key-stopped-by-admin-8PzQ';
    h = await startHarness({ env: { ...FAST_POLL, ADMIN_TOKEN, GATEWAY_SECRET }, fake: { batchRunningPolls: 1_000_000 } });
    h.acceptUpstreamKey(OWN_KEY);
    const own = await issueKey(h, { project: 'own' });
    const stored = await h.admin('POST', '/admin/v1/upstream-keys', { projectId: own.projectId, secret: OWN_KEY });
    expect(stored.status, stored.text).toBe(201);
    const job = await h.sdk(own.secret).batches.create({ model: 'gemini-2.5-flash', src: REQUESTS.slice(0, 1) });
    const ownReads = () => h.fake.requests.filter((r) => r.method === 'GET' && r.url.endsWith(`/${job.name}`) && r.headers['x-goog-api-key'] === OWN_KEY).length;
    await waitFor(async () => ownReads() >= 2);

    expect((await h.admin('POST', `/admin/v1/upstream-keys/${stored.body.id}/disable`)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 100)); // a read already in flight may finish
    const whileDisabled = ownReads();
    await new Promise((r) => setTimeout(r, 300)); // many poll intervals
    expect(ownReads()).toBe(whileDisabled);

    // Enabled again it is used again; revoked (its ciphertext erased) it is never used again.
    expect((await h.admin('POST', `/admin/v1/upstream-keys/${stored.body.id}/enable`)).status).toBe(200);
    await waitFor(async () => ownReads() > whileDisabled);
    expect((await h.admin('POST', `/admin/v1/upstream-keys/${stored.body.id}/revoke`)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 100));
    const whileRevoked = ownReads();
    await new Promise((r) => setTimeout(r, 300));
    expect(ownReads()).toBe(whileRevoked);
  });

  it('keeps at most BATCH_POLL_CONCURRENCY reads in flight, backs each batch off exponentially, and neither the other batches nor shutdown wait for a hung read', async () => {
    let inFlight = 0;
    let most = 0;
    let stuck: string | null = null;
    let stuckReads = 0;
    const reads = new Map<string, number[]>();
    h = await startHarness({
      env: { BATCH_POLL_INTERVAL_MS: '20', BATCH_POLL_MAX_INTERVAL_MS: '1000', BATCH_POLL_CONCURRENCY: '2' },
      fake: {
        batchRunningPolls: 3,
        intercept: async (ctx) => {
          const name = /^\/v\w+\/(batches\/[^/:]+)$/.exec(ctx.url.pathname)?.[1];
          if (ctx.method !== 'GET' || !name) return false;
          if (name === stuck) {
            stuckReads++;
            return true; // never answers
          }
          reads.set(name, [...(reads.get(name) ?? []), Date.now()]);
          most = Math.max(most, ++inFlight);
          await new Promise((r) => setTimeout(r, 30));
          inFlight--;
          return false;
        },
      },
    });
    const ai = h.sdk((await h.createKey()).key);
    const jobs = [];
    for (let i = 0; i < 5; i++) jobs.push(await ai.batches.create({ model: 'gemini-2.5-flash', src: REQUESTS.slice(0, 1) }));
    await waitFor(async () => (await completedRows(h)).length === 5, 10_000);
    expect(most).toBe(2);
    for (const job of jobs) {
      const at = reads.get(job.name!)!;
      expect(at).toHaveLength(4); // three running, one final
      // Each wait is at least the backoff step: 20, 40, 80 ms (scheduling only ever adds).
      const gaps = at.slice(1).map((t, i) => t - at[i]!);
      gaps.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(20 * 2 ** i - 2));
    }

    // A read that never answers holds one slot; the other batches are still followed.
    stuck = (await ai.batches.create({ model: 'gemini-2.5-flash', src: REQUESTS.slice(0, 1) })).name!;
    await waitFor(async () => stuckReads > 0);
    await ai.batches.create({ model: 'gemini-2.5-flash', src: REQUESTS.slice(0, 1) });
    await waitFor(async () => (await completedRows(h)).length === 6);
    expect(stuckReads).toBe(1);
    // ... and does not hold up shutdown.
    const started = Date.now();
    await h.gateway.shutdown(1000);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(await meteredAt(h, stuck)).toBeNull(); // read again after a restart
    await h.restart(); // so close() has a live gateway to stop
  });

  it('meters a file-based batch from its responses file, and gives that file to the batch\'s project', async () => {
    h = await startHarness({ env: FAST_POLL, fake: { batchRunningPolls: 1 } });
    const owner = await h.createKey('acme', 'alpha');
    const [ai, other] = [h.sdk(owner.key), h.sdk((await h.createKey('acme', 'beta')).key)];
    const jsonl = REQUESTS.map((request, i) => JSON.stringify({ key: `r${i}`, request })).join('\n');
    const input = await ai.files.upload({ file: new Blob([jsonl]), config: { mimeType: 'application/jsonl' } });
    const job = await ai.batches.create({ model: 'gemini-2.5-flash', src: input.name! });
    const [row] = await waitFor(async () => {
      const r = await completedRows(h);
      return r.length > 0 && r;
    });
    const prompt = promptOf(REQUESTS);
    expect(row).toMatchObject({ key_id: owner.id, outcome: 'ok', prompt_tokens: prompt, output_tokens: 3 * REQUESTS.length, total_tokens: prompt + 3 * REQUESTS.length });
    expect((row as unknown as { cost_nano_usd: number }).cost_nano_usd).toBe(batchCost(prompt, 3 * REQUESTS.length));

    // The results file Google wrote is the batch owner's: downloadable through the gateway by it, 404 for others.
    const done = await ai.batches.get({ name: job.name! });
    const file = done.dest?.fileName;
    expect(file).toMatch(/^files\//);
    const download = (key: string) => fetch(`${h.url}/v1beta/${file}:download?alt=media`, { headers: { 'x-goog-api-key': key } });
    const mine = await download(owner.key);
    expect(mine.status).toBe(200);
    expect((await mine.text()).trim().split('\n')).toHaveLength(REQUESTS.length);
    expect(await statusOf(other.files.get({ name: file! }))).toBe(404);
    expect(await completedRows(h)).toHaveLength(1);
  });

  it('without the poller, a client\'s read meters a file-based batch at once, without tokens', async () => {
    h = await startHarness({ env: { BATCH_POLL_INTERVAL_MS: '0' }, fake: { batchRunningPolls: 0 } });
    const ai = h.sdk((await h.createKey()).key);
    const input = await ai.files.upload({ file: new Blob([JSON.stringify({ key: 'r0', request: REQUESTS[0] })]), config: { mimeType: 'application/jsonl' } });
    const job = await ai.batches.create({ model: 'gemini-2.5-flash', src: input.name! });
    expect(h.gateway.batchPoller).toBeNull();
    expect((await ai.batches.get({ name: job.name! })).state).toBe('JOB_STATE_SUCCEEDED');
    const rows = await completedRows(h);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ outcome: 'ok', total_tokens: null });
  });

  it('follows a Veo operation nobody reads and meters its seconds of video once', async () => {
    h = await startHarness({ env: FAST_POLL });
    const key = await h.createKey();
    const op = await h.sdk(key.key).models.generateVideos({ model: 'veo-3.0-generate-001', prompt: 'waves', config: { durationSeconds: 6, numberOfVideos: 2 } });
    const rows = await waitFor(async () => {
      const r = (await h.rows()).filter((x) => x.endpoint === 'videos.completed');
      return r.length > 0 && r;
    });
    await new Promise((r) => setTimeout(r, 150));
    expect((await h.rows()).filter((x) => x.endpoint === 'videos.completed')).toHaveLength(1);
    // veo-3.0-generate: $0.40 per second, 2 videos × 6 s.
    expect(rows[0]).toMatchObject({ key_id: key.id, model: 'veo-3.0-generate-001', outcome: 'ok' });
    expect(rows[0] as unknown).toMatchObject({ video_seconds: 12, cost_nano_usd: 4_800_000_000 });
    expect(await meteredAt(h, op.name!)).not.toBeNull();
    expect(h.fake.requests.filter((r) => r.method === 'GET' && r.url.endsWith(`/${op.name}`))).toHaveLength(2); // running, then done
  });

  it('a 429 on a batch read cools the key down in the pool, as a client request would, and the batch waits', async () => {
    let refuse = true;
    h = await startHarness({ env: FAST_POLL, fake: { batchRunningPolls: 0, refuseKey: (_key, rec) => (refuse && rec.method === 'GET' && /\/batches\//.test(rec.url) ? 'rate-limited' : null) } });
    await h.sdk((await h.createKey()).key).batches.create({ model: 'gemini-2.5-flash', src: REQUESTS.slice(0, 1) });
    await waitFor(async () => h.gateway.deps.keyPool.health().some((k) => k.state === 'cooling'));
    expect(h.gateway.deps.keyPool.health()).toEqual([expect.objectContaining({ id: envKeyId(UPSTREAM_KEY), state: 'cooling', refusals: expect.any(Number) })]);
    expect(await completedRows(h)).toEqual([]);
    refuse = false;
    await waitFor(async () => (await completedRows(h)).length === 1);
  });

  it('meters a finished batch nobody read before forwarding its DELETE, and refuses to delete one still running', async () => {
    // The poller's next scan is a minute away: only the DELETE can meter the batch in time.
    h = await startHarness({ env: { BATCH_POLL_INTERVAL_MS: '60000' }, fake: { batchRunningPolls: 1 } });
    const { key } = await h.createKey();
    const ai = h.sdk(key);
    const job = await ai.batches.create({ model: 'gemini-2.5-flash', src: REQUESTS.slice(0, 2) });
    const deletes = () => h.fake.requests.filter((r) => r.method === 'DELETE').length;
    // Still running upstream: Google would keep running (and billing) it after a delete, out of the gateway's sight.
    const refused = await fetch(`${h.url}/v1beta/${job.name}`, { method: 'DELETE', headers: { 'x-goog-api-key': key } });
    expect(refused.status).toBe(422);
    expect(await refused.json()).toMatchObject({ error: { status: 'FAILED_PRECONDITION', message: expect.stringMatching(/not finished/) } });
    expect(deletes()).toBe(0);
    expect(await completedRows(h)).toEqual([]);
    // Now final upstream, never read by the client: the DELETE reads it, meters it, then deletes it.
    await ai.batches.delete({ name: job.name! });
    expect(deletes()).toBe(1);
    const rows = await completedRows(h);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ outcome: 'ok', prompt_tokens: promptOf(REQUESTS.slice(0, 2)), output_tokens: 3 * 2 });
    expect(await meteredAt(h, job.name!)).not.toBeNull();
  });
});
