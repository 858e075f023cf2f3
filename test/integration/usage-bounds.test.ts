import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { usageCommands } from '../../src/cli/usage.js';
import { filterWhere } from '../../src/usage/filters.js';
import { LATENCY_BOUNDS_MS } from '../../src/db/schema/latency-buckets.js';
import { USAGE_COUNT_COLUMNS } from '../../src/db/schema/usage-counts.js';
import { COUNT_FIELDS } from '../../src/metering/counts.js';
import { percentile } from '../../src/usage/histogram.js';
import { rawSegmentSql } from '../../src/usage/raw-aggregate.js';
import { startHarness, TEST_BACKEND, type Harness } from '../support/harness.js';
import { ADMIN_TOKEN, seedEvents, seedKey, tokens, type SeedEvent, type SeedKey } from '../support/usage-seed.js';

/*
 * Any from/to, on every endpoint that takes them, must equal an aggregate computed here straight
 * from the raw usage_events rows (plain JS over SELECT *, no gateway aggregation code). Each run
 * adds a random workload (written through the real recorder, so rollups are kept as in
 * production) around an hour, day and month boundary, then asks random bounds — whole months,
 * whole hours, the exact instant of an event, or any millisecond — with random filters and groupings.
 */
const START = Date.parse('2026-03-30T20:00:00Z');
const SPAN = 3 * 86_400_000; // to 2026-04-02: a day and a month boundary inside
const HOUR = 3_600_000;
const MODELS = ['gemini-2.5-flash', 'gemini-2.5-pro', 'mystery-model', null] as const;
const ENDPOINTS = ['generateContent', 'streamGenerateContent', 'interactions.create', 'countTokens'] as const;
const OUTCOMES = ['ok', 'upstream_error', 'client_aborted', 'upstream_aborted', 'upstream_timeout', 'gateway_error', 'quota_cut', 'token_expired'] as const;
const GROUP_KEYS = ['hour', 'day', 'month', 'tenant', 'project', 'key', 'model', 'endpoint', 'outcome'] as const;
type GroupKey = (typeof GROUP_KEYS)[number];

let h: Harness;
let keys: SeedKey[];
const seen: number[] = [];

beforeAll(async () => {
  h = await startHarness({ env: { ADMIN_TOKEN }, clock: { now: () => START + SPAN } });
  keys = [await seedKey(h, 'acme', 'web'), await seedKey(h, 'acme', 'web'), await seedKey(h, 'acme', 'batch'), await seedKey(h, 'globex', 'app')];
});
afterAll(async () => h.close());

interface Raw {
  created_at: number; tenant_id: string; project_id: string; key_id: string; model: string | null; endpoint: string; outcome: string;
  prompt_tokens: number | null; cached_tokens: number | null; output_tokens: number | null; thoughts_tokens: number | null;
  tool_use_prompt_tokens: number | null; total_tokens: number | null; cache_storage_tokens: number | null;
  cost_nano_usd: number | null; latency_ms: number; ttfb_ms: number | null;
  [count: string]: unknown;
}

const instant = fc.oneof(
  fc.integer({ min: START - HOUR, max: START + SPAN + HOUR }),
  fc.integer({ min: START / HOUR - 1, max: (START + SPAN) / HOUR + 1 }).map((n) => n * HOUR),
  fc.constantFrom(Date.parse('2026-03-01T00:00:00Z'), Date.parse('2026-04-01T00:00:00Z'), Date.parse('2026-05-01T00:00:00Z')),
  fc.nat({ max: 10_000 }).map((i) => seen[i % Math.max(1, seen.length)] ?? START), // exactly on an event: inclusive from, exclusive to
);

const event = fc.record({
  key: fc.nat({ max: 3 }),
  at: fc.oneof(fc.integer({ min: START, max: START + SPAN }), fc.integer({ min: START / HOUR, max: (START + SPAN) / HOUR }).map((n) => n * HOUR)),
  model: fc.constantFrom(...MODELS),
  endpoint: fc.constantFrom(...ENDPOINTS),
  outcome: fc.constantFrom(...OUTCOMES),
  usage: fc.option(fc.record({ p: fc.nat({ max: 300_000 }), o: fc.nat({ max: 5000 }), c: fc.nat({ max: 1000 }), t: fc.nat({ max: 2000 }) })),
  latencyMs: fc.oneof(fc.nat({ max: 400_000 }), fc.constantFrom(...LATENCY_BOUNDS_MS)),
  ttfbMs: fc.option(fc.oneof(fc.nat({ max: 400_000 }), fc.constantFrom(...LATENCY_BOUNDS_MS))),
});

const filter = fc.oneof(
  fc.constant({}),
  fc.constantFrom({ tenant: 'acme' }, { tenant: 'globex' }, { project: 'web' }, { project: 'batch' }),
  fc.constantFrom(...MODELS.filter((m) => m !== null)).map((model) => ({ model })),
  fc.constantFrom(...ENDPOINTS).map((endpoint) => ({ endpoint })),
  fc.constantFrom(...OUTCOMES).map((outcome) => ({ outcome })),
  fc.nat({ max: 3 }).map((k) => ({ key: `#${k}` })),
);

const query = fc.record({
  a: instant,
  b: instant,
  groupBy: fc.uniqueArray(fc.constantFrom(...GROUP_KEYS), { maxLength: 3 }),
  filter,
  self: fc.nat({ max: 3 }),
});

type Ev = typeof event extends fc.Arbitrary<infer T> ? T : never;

async function seed(events: Ev[]): Promise<void> {
  const rows: SeedEvent[] = events.map((e) => ({
    at: new Date(e.at).toISOString(), key: keys[e.key]!, model: e.model, endpoint: e.endpoint, outcome: e.outcome,
    usage: e.usage && tokens(e.usage.p, e.usage.o, { cachedTokens: Math.min(e.usage.c, e.usage.p), thoughtsTokens: e.usage.t }),
    latencyMs: e.latencyMs, ttfbMs: e.ttfbMs,
  }));
  await seedEvents(h, rows);
  seen.push(...events.map((e) => e.at));
  await readBack();
}

/** The raw rows and the names the API labels groups with, read after each seed so the checks below stay synchronous. */
let stored: { events: Raw[]; projects: Map<string, { slug: string; tenant: string }>; tenantSlug: Map<string, string>; keyPrefix: Map<string, string> };
async function readBack(): Promise<void> {
  const projects = await h.query<{ id: string; slug: string; tenant: string }>('SELECT p.id, p.slug, t.slug AS tenant FROM projects p JOIN tenants t ON t.id = p.tenant_id');
  const tenants = await h.query<{ id: string; slug: string }>('SELECT id, slug FROM tenants');
  const keyRows = await h.query<{ id: string; prefix: string }>('SELECT id, prefix FROM api_keys');
  stored = {
    events: await h.query<Raw>('SELECT * FROM usage_events'),
    projects: new Map(projects.map((p) => [p.id, p])),
    tenantSlug: new Map(tenants.map((t) => [t.id, t.slug])),
    keyPrefix: new Map(keyRows.map((k) => [k.id, k.prefix])),
  };
}

/** The rows a query covers, read and filtered here without the gateway's SQL. */
function rawRows(from: number, to: number, f: Record<string, string>, projectId?: string): Raw[] {
  const project = stored.projects;
  return stored.events.filter(
    (r) =>
      r.created_at >= from && r.created_at < to &&
      (projectId === undefined || r.project_id === projectId) &&
      (f.tenant === undefined || project.get(r.project_id)!.tenant === f.tenant) &&
      (f.project === undefined || project.get(r.project_id)!.slug === f.project) &&
      (f.key === undefined || r.key_id === f.key) &&
      (f.model === undefined || r.model === f.model) &&
      (f.endpoint === undefined || r.endpoint === f.endpoint) &&
      (f.outcome === undefined || r.outcome === f.outcome),
  );
}

const bucket = (ms: number) => {
  const i = LATENCY_BOUNDS_MS.findIndex((b) => ms <= b);
  return i === -1 ? LATENCY_BOUNDS_MS.length : i;
};

/** The aggregate of some raw rows, by the README's definitions. */
function metricsOf(rows: Raw[]): Record<string, number | null> {
  const sum = (f: (r: Raw) => number | null) => rows.reduce((s, r) => s + (f(r) ?? 0), 0);
  const withUsage = rows.filter((r) => r.total_tokens !== null);
  const hist = (f: (r: Raw) => number | null) => {
    const counts = new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0);
    for (const r of rows) if (f(r) !== null) counts[bucket(f(r)!)]! += 1;
    return counts;
  };
  const latMax = Math.max(0, ...rows.map((r) => r.latency_ms));
  const ttfbMax = Math.max(0, ...rows.map((r) => r.ttfb_ms ?? 0));
  const cost = sum((r) => r.cost_nano_usd);
  const unpriced = withUsage.filter((r) => r.cost_nano_usd === null).length;
  return {
    requests: rows.length,
    errors: rows.filter((r) => r.outcome !== 'ok' && r.outcome !== 'client_aborted' && r.outcome !== 'token_expired').length,
    aborted: rows.filter((r) => r.outcome === 'client_aborted').length,
    promptTokens: sum((r) => r.prompt_tokens), cachedTokens: sum((r) => r.cached_tokens), outputTokens: sum((r) => r.output_tokens),
    thoughtsTokens: sum((r) => r.thoughts_tokens), toolUsePromptTokens: sum((r) => r.tool_use_prompt_tokens),
    totalTokens: sum((r) => r.total_tokens), cacheStorageTokens: sum((r) => r.cache_storage_tokens),
    // Per-modality and media counts (db/schema/usage-counts.ts), summed like the tokens.
    ...Object.fromEntries(COUNT_FIELDS.map((f, i) => [f, sum((r) => r[USAGE_COUNT_COLUMNS[i]!] as number | null)])),
    estimatedCostUsd: cost === 0 && unpriced > 0 ? null : cost / 1e9,
    unpricedRequests: unpriced,
    latencyMsAvg: rows.length ? Math.round(sum((r) => r.latency_ms) / rows.length) : null,
    latencyMsP50: percentile(hist((r) => r.latency_ms), 0.5, latMax),
    latencyMsP95: percentile(hist((r) => r.latency_ms), 0.95, latMax),
    ttfbMsP50: percentile(hist((r) => r.ttfb_ms), 0.5, ttfbMax),
    ttfbMsP95: percentile(hist((r) => r.ttfb_ms), 0.95, ttfbMax),
  };
}

/** Label columns of a row's group, as the API names them. */
function labelsOf(r: Raw, groupBy: GroupKey[]): Record<string, string | null> {
  const iso = new Date(r.created_at).toISOString();
  const out: Record<string, string | null> = {};
  for (const g of ['month', 'day', 'hour'] as const) {
    if (!groupBy.includes(g)) continue;
    out[g] = g === 'month' ? iso.slice(0, 7) : g === 'day' ? iso.slice(0, 10) : `${iso.slice(0, 13)}:00:00.000Z`;
  }
  for (const g of groupBy) {
    if (g === 'tenant') Object.assign(out, { tenantId: r.tenant_id, tenant: stored.tenantSlug.get(r.tenant_id)! });
    if (g === 'project') Object.assign(out, { projectId: r.project_id, project: stored.projects.get(r.project_id)!.slug });
    if (g === 'key') Object.assign(out, { keyId: r.key_id, keyPrefix: stored.keyPrefix.get(r.key_id)! });
    if (g === 'model') out.model = r.model;
    if (g === 'endpoint') out.endpoint = r.endpoint;
    if (g === 'outcome') out.outcome = r.outcome;
  }
  return out;
}

function expectedGroups(rows: Raw[], groupBy: GroupKey[]): Record<string, unknown>[] {
  const groups = new Map<string, { labels: Record<string, string | null>; rows: Raw[] }>();
  for (const r of rows) {
    const labels = labelsOf(r, groupBy);
    const id = JSON.stringify(labels);
    if (!groups.has(id)) groups.set(id, { labels, rows: [] });
    groups.get(id)!.rows.push(r);
  }
  return [...groups.values()].map((g) => ({ ...g.labels, ...metricsOf(g.rows) }));
}

const byLabels = (groupBy: GroupKey[]) => (a: Record<string, unknown>, b: Record<string, unknown>) => {
  const k = (g: Record<string, unknown>) => JSON.stringify(groupBy.flatMap((x) => Object.entries(g).filter(([c]) => c.toLowerCase().startsWith(x)).map(([c, v]) => [c, v ?? ''])));
  return k(a) < k(b) ? -1 : k(a) > k(b) ? 1 : 0;
};

async function get(path: string, auth: Record<string, string>) {
  const res = await fetch(h.url + path, { headers: auth });
  return { status: res.status, text: await res.text() };
}

/** Runs `gemini-gateway usage` in-process on the same database file; returns its parsed --json output. */
async function usageCli(args: string[]): Promise<{ groups: Record<string, unknown>[]; totals: Record<string, unknown> }> {
  let out = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((s: string) => ((out += s), true)) as typeof process.stdout.write;
  try {
    expect(await runCli(usageCommands, ['usage', ...args], { config: () => h.config, clock: { now: () => START + SPAN } })).toBe(0);
  } finally {
    process.stdout.write = write;
  }
  return JSON.parse(out);
}

describe('usage at arbitrary bounds', () => {
  it('equals the raw-event aggregate on every endpoint that takes from/to (and the CLI), for any bounds, filters and groupings', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(event, { maxLength: 20 }), query, async (events, q) => {
        await seed(events);
        const [from, to] = q.a <= q.b ? [q.a, q.b] : [q.b, q.a];
        const f = { ...q.filter } as Record<string, string>;
        if (f.key) f.key = keys[Number(f.key.slice(1))]!.id;
        const params = new URLSearchParams({ ...f, from: new Date(from).toISOString(), to: new Date(to).toISOString() });
        if (q.groupBy.length) params.set('groupBy', q.groupBy.join(','));
        const self = keys[q.self]!;
        const surfaces: { path: string; auth: Record<string, string>; scope: string | undefined }[] = [
          { path: '/admin/v1/usage', auth: { authorization: `Bearer ${ADMIN_TOKEN}` }, scope: undefined },
          { path: '/gateway/v1/usage', auth: { 'x-goog-api-key': self.key }, scope: self.projectId },
        ];
        // The CLI (`gemini-gateway usage … --json`) takes the same bounds.
        const raw = rawRows(from, to, f);
        const cli = await usageCli(['--from', new Date(from).toISOString(), '--to', new Date(to).toISOString(), ...Object.entries(f).flatMap(([k, v]) => [`--${k}`, v]), ...(q.groupBy.length ? ['--group-by', q.groupBy.join(',')] : []), '--json']);
        expect([...cli.groups].sort(byLabels(q.groupBy))).toEqual(expectedGroups(raw, q.groupBy).sort(byLabels(q.groupBy)));
        expect(cli.totals).toEqual(metricsOf(raw));
        for (const s of surfaces) {
          const raw = rawRows(from, to, f, s.scope);
          const expected = expectedGroups(raw, q.groupBy).sort(byLabels(q.groupBy));

          const json = await get(`${s.path}?${params}`, s.auth);
          expect(json.status, json.text).toBe(200);
          const body = JSON.parse(json.text);
          expect([...body.groups].sort(byLabels(q.groupBy))).toEqual(expected);
          expect(body.totals).toEqual(metricsOf(raw));
          expect([body.from, body.to]).toEqual([new Date(from).toISOString(), new Date(to).toISOString()]);

          const csv = await get(`${s.path}?${params}&format=csv`, s.auth);
          expect(csv.status).toBe(200);
          const cells = (parse(csv.text, { columns: true }) as Record<string, string>[]).sort(byLabels(q.groupBy));
          expect(cells).toEqual(expected.map((g) => Object.fromEntries(Object.entries(g).map(([k, v]) => [k, v === null ? '' : String(v)]))));

          // The raw listing has no groupBy (it would be refused as unknown); the filters and bounds are the same.
          const filters = new URLSearchParams(params);
          filters.delete('groupBy');
          const listed = await get(`${s.path}/events?${filters}&limit=1000`, s.auth);
          expect(listed.status).toBe(200);
          const page = JSON.parse(listed.text);
          expect(page.nextCursor).toBeNull();
          expect((page.data as { createdAt: string }[]).map((e) => Date.parse(e.createdAt))).toEqual(raw.map((r) => r.created_at).sort((x, y) => y - x));
        }
      }),
      { numRuns: 40 },
    );
  }, 120_000);

  // SQLite's plan format; Postgres picks its plans by statistics, not checked here.
  it.runIf(TEST_BACKEND === 'sqlite')('reads the partial edge hours through an index on created_at, whatever the filter', async () => {
    const shapes = [{}, { tenant: 'acme' }, { project: 'web' }, { key: keys[0]!.id }, { model: 'gemini-2.5-pro' }, { endpoint: 'countTokens' }, { outcome: 'ok' as const }];
    for (const f of shapes) {
      const where = await filterWhere(h.db, f);
      const plan = (h.db.$client.prepare(`EXPLAIN QUERY PLAN ${rawSegmentSql(true, ['project_id', 'model'], where)}`).all(START, START + HOUR, ...where.params) as { detail: string }[])
        .map((r) => r.detail).filter((d) => /usage_events/.test(d));
      expect({ f, plan }).toEqual({ f, plan: [expect.stringMatching(/^SEARCH usage_events USING INDEX usage_events_\w+_idx \((\w+=\? AND )?created_at>\? AND created_at<\?\)$/)] });
    }
  });
});
