import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresAvailable } from '../support/postgres.js';
import { startHarness, type Harness } from '../support/harness.js';
import { issueKey, type Issued } from '../support/admin-fixtures.js';
import { ADMIN_ENV, latch, setLimits } from '../support/quota.js';

/*
 * The acceptance check of the Postgres backend: the same mixed workload (unary, streams, a stream
 * the client hangs up on, upstream errors, quota refusals, a resumable upload, key rotation) goes
 * through one gateway on SQLite and one on Postgres, each on a clock that only moves when told to.
 * Everything the APIs answer afterwards (usage aggregates by every grouping, event listings, admin
 * lists, self-service usage and quota) must be identical once ids, secrets and measured durations
 * are set aside. Runs in the sqlite project only: it starts both backends itself.
 */
const START = Date.parse('2026-01-31T22:30:00Z');
const RANGE = 'from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z';

interface Run {
  h: Harness;
  acme: Issued;
  globex: Issued;
  rotatedSecret: string;
}

async function runWorkload(backend: 'sqlite' | 'postgres'): Promise<Run> {
  let now = START;
  const held = latch();
  const h = await startHarness({
    backend,
    env: ADMIN_ENV,
    clock: { now: () => now },
    fake: {
      beforeFrame: async (i, req) => {
        if (req.url.includes('slow-stream') && i >= 1) await held.wait;
      },
      // An upstream that fails on demand: the marker in the prompt makes it answer 403 RESOURCE_EXHAUSTED.
      refuseKey: (_key, rec) => (rec.body.toString('utf8').includes('please-fail') ? 'quota-403' : null),
    },
  });
  let recorded = 0;
  // One request per step, its row settled before the clock moves on (17 minutes: hours, a day and a month turn over).
  const step = async (fn: () => Promise<unknown>, rows = 1) => {
    await fn().catch(() => undefined);
    recorded += rows;
    await h.waitForRows(recorded);
    now += 17 * 60_000;
  };
  const drain = async (it: AsyncIterable<unknown>) => {
    for await (const _ of it) void _;
  };
  const acme = await issueKey(h, { tenant: 'acme', project: 'web' });
  now += 1000;
  const globex = await issueKey(h, { tenant: 'globex', project: 'app' });
  now += 1000;
  // One request a minute for globex: with the clock standing still inside a step, the second of a pair is refused.
  await setLimits(h, globex.projectId, { limits: [{ requestsPerMinute: 1 }] });
  now += 1000;

  for (const who of [acme, globex]) {
    const ai = h.sdk(who.secret);
    await step(() => ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi' }));
    await step(async () => drain(await ai.models.generateContentStream({ model: 'gemini-2.5-pro', contents: 'hi' })));
    await step(async () => drain(await ai.models.generateContentStream({ model: 'google-reasoning-gemini3', contents: 'hi' })));
    await step(() => ai.models.generateContent({ model: 'rate-limited', contents: 'x' }));
    await step(() => ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'please-fail' }));
    await step(async () => drain(await ai.models.generateContentStream({ model: 'stream-error', contents: 'x' })));
    // Two requests in the same minute: globex's second is a quota refusal, acme's is served.
    await step(async () => {
      await ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'one' }).catch(() => undefined);
      await ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'two' });
    }, 2);
    await step(async () => {
      const ac = new AbortController();
      const res = await fetch(`${h.url}/v1beta/models/slow-stream:streamGenerateContent?alt=sse`, {
        method: 'POST', headers: { 'x-goog-api-key': who.secret, 'content-type': 'application/json' }, body: '{"contents":[]}', signal: ac.signal,
      });
      await res.body!.getReader().read();
      ac.abort();
    });
    await step(() => ai.models.embedContent({ model: 'gemini-embedding-001', contents: ['a', 'b'] }));
  }
  held.open();

  // A resumable upload (start, then upload+finalize) through the SDK.
  const before = (await h.rows()).length;
  await h.sdk(acme.secret).files.upload({ file: new Blob(['hello from acme']), config: { mimeType: 'text/plain', displayName: 'a.txt' } });
  recorded = before + (await settle(h, before));
  now += 17 * 60_000;

  // Rotation: the new secret serves at once, the old one during the overlap.
  const rotated = await h.admin('POST', `/admin/v1/keys/${acme.keyId}/rotate`, { overlapSeconds: 3600 });
  if (rotated.status !== 200) throw new Error(`rotate answered ${rotated.status}: ${rotated.text}`);
  now += 1000;
  const rotatedSecret: string = rotated.body.secret;
  await step(() => h.sdk(rotatedSecret).models.generateContent({ model: 'gemini-2.5-flash', contents: 'after rotation' }));
  await step(() => h.sdk(acme.secret).models.generateContent({ model: 'gemini-2.5-flash', contents: 'old key, overlap' }));
  now += 2 * 3600_000;
  // Past the overlap the old secret is refused (no usage row: the key is not valid).
  const old = await h.sdk(acme.secret).models.generateContent({ model: 'gemini-2.5-flash', contents: 'expired' }).then(() => 'served', () => 'refused');
  if (old !== 'refused') throw new Error('the rotated-out key still served after its overlap');
  await h.rows();
  return { h, acme, globex, rotatedSecret };
}

/** How many rows an action that may write several (an upload's start and finalize) added, once they stop coming. */
async function settle(h: Harness, before: number): Promise<number> {
  let last = -1;
  for (;;) {
    const n = (await h.rows()).length - before;
    if (n === last && n > 0) return n;
    last = n;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every answer the comparison covers, raw. */
async function answers(run: Run): Promise<Record<string, unknown>> {
  const { h } = run;
  const out: Record<string, unknown> = {};
  // Labelled by the path with its ids named, so that both runs use the same labels.
  const admin = async (path: string, label = path) => {
    const res = await h.admin('GET', path);
    out[label] = { status: res.status, body: res.body };
  };
  for (const groupBy of ['month', 'day', 'hour', 'tenant', 'project', 'key', 'model', 'endpoint', 'outcome', 'day,model', 'tenant,project,model,endpoint']) {
    await admin(`/admin/v1/usage?${RANGE}&groupBy=${groupBy}`);
  }
  await admin(`/admin/v1/usage?${RANGE}`);
  await admin(`/admin/v1/usage?${RANGE}&groupBy=model&tenant=${run.globex.tenantId}`, `/admin/v1/usage?${RANGE}&groupBy=model&tenant=globex`);
  await admin(`/admin/v1/usage/events?${RANGE}&limit=200`);
  await admin('/admin/v1/tenants?limit=200');
  await admin('/admin/v1/projects?limit=200');
  await admin('/admin/v1/keys?limit=200');
  await admin(`/admin/v1/keys/${run.acme.keyId}`, '/admin/v1/keys/{acme}');
  await admin(`/admin/v1/projects/${run.globex.projectId}/limits`, '/admin/v1/projects/{globex}/limits');
  await admin('/admin/v1/audit?limit=200');
  await admin('/admin/v1/resources?limit=200');
  for (const [name, secret] of [['acme', run.rotatedSecret], ['globex', run.globex.secret]] as const) {
    for (const path of [`/gateway/v1/usage?${RANGE}&groupBy=day,model`, `/gateway/v1/usage/events?${RANGE}`, '/gateway/v1/quota']) {
      const res = await fetch(h.url + path, { headers: { 'x-goog-api-key': secret } });
      out[`${name} ${path}`] = { status: res.status, body: await res.json() };
    }
  }
  // The rollup tables themselves, every column (histograms and latency sums are durations, masked below); ids come last, so
  // they are numbered by the answers above and the rows are sorted after normalising.
  for (const table of ['usage_rollups_hourly', 'usage_rollups_daily', 'usage_rollups_monthly']) out[`rollup ${table}`] = await h.query(`SELECT * FROM ${table}`);
  return out;
}

// Values that differ between any two runs by construction: generated ids, secrets and their prefixes, resource names, cursors, measured durations.
const VOLATILE_KEY = /^(id|.*Id|.*_id|keyPrefix|prefix|secret|name|uri|nextCursor|cursor|replacedBy|replaces|.*latency.*|.*Latency.*|ttfb.*|.*Ttfb.*|.*Ms|lat_\d+)$/;

/** The answers with ids (kept distinct, in order of first appearance), secrets and durations replaced. */
function normalise(value: unknown): unknown {
  const seen = new Map<string, string>();
  const idOf = (v: unknown) => {
    const s = JSON.stringify(v);
    if (!seen.has(s)) seen.set(s, `<id${seen.size}>`);
    return seen.get(s)!;
  };
  const walk = (v: unknown, key = ''): unknown => {
    if (Array.isArray(v)) return v.map((x) => walk(x, key));
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, k)]));
    if (VOLATILE_KEY.test(key) && v !== null) return /latency|Latency|ttfb|Ttfb|Ms$|^lat_/.test(key) ? '<duration>' : idOf(v);
    if (typeof v === 'string') return v.replace(/(upload_id=|files\/|ggw?[a-z]*_)[A-Za-z0-9_-]+/g, '$1<x>');
    return v;
  };
  const out = walk(value) as Record<string, unknown>;
  for (const [label, rows] of Object.entries(out)) {
    if (label.startsWith('rollup ')) out[label] = (rows as unknown[]).map((r) => JSON.stringify(r)).sort();
  }
  return out;
}

describe.runIf(postgresAvailable)('same answers on both backends', () => {
  let sqlite: Run;
  let postgres: Run;
  beforeAll(async () => {
    sqlite = await runWorkload('sqlite');
    postgres = await runWorkload('postgres');
  }, 120_000);
  afterAll(async () => {
    await sqlite?.h.close();
    await postgres?.h.close();
  });

  it('the workload produced what it was meant to, on each backend', async () => {
    for (const run of [sqlite, postgres]) {
      const seen = await run.h.query<{ outcome: string; status: number; n: number }>('SELECT outcome, status, count(*) AS n FROM usage_events GROUP BY outcome, status ORDER BY outcome, status');
      // Aborts (one each), the quota refusal (globex's second request in a minute), upstream 429, 403 on demand and 404.
      expect(seen).toEqual([
        { outcome: 'client_aborted', status: 200, n: 2 },
        { outcome: 'gateway_error', status: 429, n: 1 },
        { outcome: 'ok', status: 200, n: 15 },
        { outcome: 'upstream_error', status: 403, n: 2 },
        { outcome: 'upstream_error', status: 404, n: 2 },
        { outcome: 'upstream_error', status: 429, n: 2 },
      ]);
    }
  });

  it('usage aggregates, event listings, admin lists and self-service answers are identical, ids and times aside', async () => {
    const a = normalise(await answers(sqlite));
    const b = normalise(await answers(postgres));
    for (const path of Object.keys(a as object)) {
      expect((b as Record<string, unknown>)[path], path).toEqual((a as Record<string, unknown>)[path]);
    }
    expect(Object.keys(b as object)).toEqual(Object.keys(a as object));
  });
});
