import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';
import { ADMIN_TOKEN, getJson, seedEvents, seedKey, tokens, type SeedKey } from '../support/usage-seed.js';
import shippedPrices from '../../src/usage/prices.json' with { type: 'json' };

/*
 * Eight events, every expectation below computed by hand from them (prices per 1M tokens:
 * flash in 0.30 / cached 0.03 / out+thinking 2.50; pro above 200k prompt tokens in 2.50 / out 15).
 *   e1 06-01 10:15 acme/web k1   flash generateContent        ok              p1000 c200 o500 t100  = 1746 µ$   lat 120  ttfb 80
 *   e2 06-01 10:45 acme/web k2   flash streamGenerateContent  ok              p2000 o1000           = 3100 µ$   lat 900  ttfb 60
 *   e3 06-01 11:05 acme/web k1   pro   generateContent        upstream_error  —                     = 0        lat 30   ttfb 25
 *   e4 06-02 09:00 acme/batch k3 pro   streamGenerateContent  client_aborted  p300000 o50           = 750750 µ$ lat 4000 ttfb 1500
 *   e5 06-02 09:30 globex/app k4 mystery generateContent      ok              p10 o5                = null     lat 50   ttfb 40
 *   e6 05-20 08:00 globex/app k4 flash generateContent        ok              p100 o10              = 55 µ$     lat 200  ttfb 150
 *   e7 06-02 23:59 acme/web k1   flash interactions.create    gateway_error   —                     = 0        lat 1    ttfb —
 *   e8 06-15 12:10 acme/web k2   flash generateContent        upstream_aborted —                    = 0        lat 60000 ttfb —
 */
const NOW = Date.parse('2026-06-15T12:30:00Z');
const RANGE = 'from=2026-05-01&to=2026-07-01';
const FLASH = 'gemini-2.5-flash';
const PRO = 'gemini-2.5-pro';

let h: Harness;
let k1: SeedKey, k2: SeedKey, k3: SeedKey, k4: SeedKey;

beforeAll(async () => {
  h = await startHarness({ env: { ADMIN_TOKEN }, clock: { now: () => NOW } });
  k1 = await seedKey(h, 'acme', 'web');
  k2 = await seedKey(h, 'acme', 'web');
  k3 = await seedKey(h, 'acme', 'batch');
  k4 = await seedKey(h, 'globex', 'app');
  await seedEvents(h, [
    { at: '2026-06-01T10:15:00Z', key: k1, model: FLASH, endpoint: 'generateContent', outcome: 'ok', usage: tokens(1000, 500, { cachedTokens: 200, thoughtsTokens: 100 }), latencyMs: 120, ttfbMs: 80 },
    { at: '2026-06-01T10:45:00Z', key: k2, model: FLASH, endpoint: 'streamGenerateContent', outcome: 'ok', usage: tokens(2000, 1000), latencyMs: 900, ttfbMs: 60 },
    { at: '2026-06-01T11:05:00Z', key: k1, model: PRO, endpoint: 'generateContent', outcome: 'upstream_error', status: 429, usage: null, latencyMs: 30, ttfbMs: 25 },
    { at: '2026-06-02T09:00:00Z', key: k3, model: PRO, endpoint: 'streamGenerateContent', outcome: 'client_aborted', usage: tokens(300_000, 50), latencyMs: 4000, ttfbMs: 1500 },
    { at: '2026-06-02T09:30:00Z', key: k4, model: 'mystery-model', endpoint: 'generateContent', outcome: 'ok', usage: tokens(10, 5), latencyMs: 50, ttfbMs: 40 },
    { at: '2026-05-20T08:00:00Z', key: k4, model: FLASH, endpoint: 'generateContent', outcome: 'ok', usage: tokens(100, 10), latencyMs: 200, ttfbMs: 150 },
    { at: '2026-06-02T23:59:59Z', key: k1, model: FLASH, endpoint: 'interactions.create', outcome: 'gateway_error', status: 429, usage: null, latencyMs: 1, ttfbMs: null },
    { at: '2026-06-15T12:10:00Z', key: k2, model: FLASH, endpoint: 'generateContent', outcome: 'upstream_aborted', status: 502, usage: null, latencyMs: 60_000, ttfbMs: null },
  ]);
});
afterAll(async () => h.close());

const usage = (query: string) => getJson(h, `/admin/v1/usage?${query}`);
/** The counting columns of each group, keyed by its label columns. */
const pick = (groups: any[], label: (g: any) => string, fields = ['requests', 'errors', 'aborted', 'totalTokens', 'estimatedCostUsd']) =>
  Object.fromEntries(groups.map((g) => [label(g), Object.fromEntries(fields.map((f) => [f, g[f]]))]));

describe('GET /admin/v1/usage', () => {
  it('totals every column over the range', async () => {
    const { status, body } = await usage(RANGE);
    expect(status).toBe(200);
    expect(body.totals).toMatchObject({
      requests: 8, errors: 3, aborted: 1,
      promptTokens: 303_110, cachedTokens: 200, outputTokens: 1565, thoughtsTokens: 100, toolUsePromptTokens: 0, totalTokens: 304_775,
      estimatedCostUsd: 0.755651, unpricedRequests: 1, latencyMsAvg: Math.round(65_301 / 8),
    });
    expect(body.groups).toHaveLength(1);
    expect(body.notes.percentiles).toMatch(/approximation/);
    expect(body.notes.estimatedCostUsd).toMatch(/Estimated USD/);
  });

  it('groups by month, day and hour', async () => {
    expect(pick((await usage(`${RANGE}&groupBy=month`)).body.groups, (g) => g.month)).toEqual({
      '2026-05': { requests: 1, errors: 0, aborted: 0, totalTokens: 110, estimatedCostUsd: 0.000055 },
      '2026-06': { requests: 7, errors: 3, aborted: 1, totalTokens: 304_665, estimatedCostUsd: 0.755596 },
    });
    expect(pick((await usage(`${RANGE}&groupBy=day`)).body.groups, (g) => g.day)).toEqual({
      '2026-05-20': { requests: 1, errors: 0, aborted: 0, totalTokens: 110, estimatedCostUsd: 0.000055 },
      '2026-06-01': { requests: 3, errors: 1, aborted: 0, totalTokens: 4600, estimatedCostUsd: 0.004846 },
      '2026-06-02': { requests: 3, errors: 1, aborted: 1, totalTokens: 300_065, estimatedCostUsd: 0.75075 },
      '2026-06-15': { requests: 1, errors: 1, aborted: 0, totalTokens: 0, estimatedCostUsd: 0 },
    });
    const hours = (await usage('from=2026-06-01T10:00:00Z&to=2026-06-01T12:00:00Z&groupBy=hour')).body.groups;
    expect(pick(hours, (g) => g.hour)).toEqual({
      '2026-06-01T10:00:00.000Z': { requests: 2, errors: 0, aborted: 0, totalTokens: 4600, estimatedCostUsd: 0.004846 },
      '2026-06-01T11:00:00.000Z': { requests: 1, errors: 1, aborted: 0, totalTokens: 0, estimatedCostUsd: 0 },
    });
  });

  it('groups by tenant, project, key, model and endpoint, labelling ids with slugs and key prefixes', async () => {
    const byTenant = (await usage(`${RANGE}&groupBy=tenant`)).body.groups;
    expect(pick(byTenant, (g) => g.tenant, ['requests', 'errors', 'totalTokens'])).toEqual({
      acme: { requests: 6, errors: 3, totalTokens: 304_650 },
      globex: { requests: 2, errors: 0, totalTokens: 125 },
    });
    expect(byTenant.find((g: any) => g.tenant === 'acme').tenantId).toBe(k1.tenantId);
    expect(pick((await usage(`${RANGE}&groupBy=project`)).body.groups, (g) => `${g.project}:${g.projectId}`, ['requests', 'totalTokens'])).toEqual({
      [`web:${k1.projectId}`]: { requests: 5, totalTokens: 4600 },
      [`batch:${k3.projectId}`]: { requests: 1, totalTokens: 300_050 },
      [`app:${k4.projectId}`]: { requests: 2, totalTokens: 125 },
    });
    expect(pick((await usage(`${RANGE}&groupBy=key`)).body.groups, (g) => g.keyPrefix, ['keyId', 'requests'])).toEqual({
      [k1.prefix]: { keyId: k1.id, requests: 3 },
      [k2.prefix]: { keyId: k2.id, requests: 2 },
      [k3.prefix]: { keyId: k3.id, requests: 1 },
      [k4.prefix]: { keyId: k4.id, requests: 2 },
    });
    expect(pick((await usage(`${RANGE}&groupBy=model`)).body.groups, (g) => g.model, ['requests', 'totalTokens', 'estimatedCostUsd', 'unpricedRequests'])).toEqual({
      [FLASH]: { requests: 5, totalTokens: 4710, estimatedCostUsd: 0.004901, unpricedRequests: 0 },
      [PRO]: { requests: 2, totalTokens: 300_050, estimatedCostUsd: 0.75075, unpricedRequests: 0 },
      'mystery-model': { requests: 1, totalTokens: 15, estimatedCostUsd: null, unpricedRequests: 1 },
    });
    expect(pick((await usage(`${RANGE}&groupBy=endpoint`)).body.groups, (g) => g.endpoint, ['requests', 'errors', 'aborted'])).toEqual({
      generateContent: { requests: 5, errors: 2, aborted: 0 },
      streamGenerateContent: { requests: 2, errors: 0, aborted: 1 },
      'interactions.create': { requests: 1, errors: 1, aborted: 0 },
    });
  });

  it('combines time and dimension groupings, in any combination', async () => {
    const g = (await usage(`${RANGE}&groupBy=day,model`)).body.groups;
    expect(g.map((x: any) => [x.day, x.model, x.requests])).toEqual([
      ['2026-05-20', FLASH, 1],
      ['2026-06-01', FLASH, 2], ['2026-06-01', PRO, 1],
      ['2026-06-02', FLASH, 1], ['2026-06-02', PRO, 1], ['2026-06-02', 'mystery-model', 1],
      ['2026-06-15', FLASH, 1],
    ]);
    const all = (await usage(`${RANGE}&groupBy=month,day,hour,tenant,project,key,model,endpoint`)).body.groups;
    expect(all).toHaveLength(8);
    expect(all[0]).toMatchObject({ month: '2026-05', day: '2026-05-20', hour: '2026-05-20T08:00:00.000Z', tenant: 'globex', project: 'app', keyId: k4.id, model: FLASH, endpoint: 'generateContent', requests: 1 });
    const repeated = (await usage(`${RANGE}&groupBy=month&groupBy=project`)).body.groups;
    const asText = (rows: unknown[][]) => rows.map((r) => r.join(' ')).sort();
    expect(asText(repeated.map((x: any) => [x.month, x.project, x.requests]))).toEqual(asText([['2026-05', 'app', 1], ['2026-06', 'web', 5], ['2026-06', 'batch', 1], ['2026-06', 'app', 1]]));
  });

  it('applies each filter, by id or by slug, alone and together', async () => {
    const count = async (q: string) => (await usage(`${RANGE}&${q}`)).body.totals.requests;
    expect(await count('tenant=globex')).toBe(2);
    expect(await count(`tenant=${k1.tenantId}`)).toBe(6);
    expect(await count('project=web')).toBe(5);
    expect(await count(`project=${k3.projectId}`)).toBe(1);
    expect(await count('tenant=globex&project=web')).toBe(0);
    expect(await count(`key=${k1.id}`)).toBe(3);
    expect(await count(`key=${k2.prefix}`)).toBe(2);
    expect(await count(`model=${PRO}`)).toBe(2);
    expect(await count('endpoint=streamGenerateContent')).toBe(2);
    expect(await count('outcome=client_aborted')).toBe(1);
    expect(await count('outcome=ok')).toBe(4);
    expect(await count('project=nope')).toBe(0);
    const narrow = await usage('from=2026-06-02&to=2026-06-03');
    expect(narrow.body.totals).toMatchObject({ requests: 3, errors: 1, aborted: 1, totalTokens: 300_065 });
    const mixed = await usage(`${RANGE}&tenant=acme&model=${FLASH}&groupBy=endpoint`);
    expect(pick(mixed.body.groups, (g) => g.endpoint, ['requests', 'totalTokens'])).toEqual({
      generateContent: { requests: 2, totalTokens: 1600 },
      streamGenerateContent: { requests: 1, totalTokens: 3000 },
      'interactions.create': { requests: 1, totalTokens: 0 },
    });
  });

  it('reports latency and TTFB percentiles within the histogram bucket of the true value', async () => {
    const day = (await usage(`${RANGE}&groupBy=day`)).body.groups.find((g: any) => g.day === '2026-06-01');
    // latencies 30, 120, 900: median 120 lies in (100, 150]; p95 in (750, 1000] capped by max 900
    expect(day.latencyMsP50).toBeGreaterThan(100);
    expect(day.latencyMsP50).toBeLessThanOrEqual(150);
    expect(day.latencyMsP95).toBeGreaterThan(750);
    expect(day.latencyMsP95).toBeLessThanOrEqual(900);
    expect(day.latencyMsAvg).toBe(350);
    // ttfb 25, 60, 80: median 60 lies in (50, 75]
    expect(day.ttfbMsP50).toBeGreaterThan(50);
    expect(day.ttfbMsP50).toBeLessThanOrEqual(75);
    const noTtfb = (await usage(`${RANGE}&groupBy=day`)).body.groups.find((g: any) => g.day === '2026-06-15');
    expect(noTtfb.ttfbMsP50).toBeNull();
  });

  it('returns the same numbers as CSV with a header row', async () => {
    const json = (await usage(`${RANGE}&groupBy=day,project,model`)).body.groups as Record<string, unknown>[];
    const res = await fetch(`${h.url}/admin/v1/usage?${RANGE}&groupBy=day,project,model&format=csv`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    const rows = parse(await res.text(), { columns: true }) as Record<string, string>[];
    expect(Object.keys(rows[0]!)).toEqual(Object.keys(json[0]!));
    const back = rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === '' ? null : typeof json[0]![k] === 'number' || /Ms|Tokens|Usd|requests|errors|aborted/i.test(k) ? Number(v) : v])));
    expect(back).toEqual(json);
  });

  it('answers bounds inside an hour exactly, from the raw events at the edges', async () => {
    // e1 (10:15) is before the bound, e2 (10:45) inside; e3 (11:05) before the upper bound, e4 (06-02 09:00) after.
    const { status, body } = await usage('from=2026-06-01T10:30:00Z&to=2026-06-01T11:05:00.001Z&groupBy=hour');
    expect(status).toBe(200);
    expect(body.from).toBe('2026-06-01T10:30:00.000Z');
    expect(pick(body.groups, (g) => g.hour)).toEqual({
      '2026-06-01T10:00:00.000Z': { requests: 1, errors: 0, aborted: 0, totalTokens: 3000, estimatedCostUsd: 0.0031 },
      '2026-06-01T11:00:00.000Z': { requests: 1, errors: 1, aborted: 0, totalTokens: 0, estimatedCostUsd: 0 },
    });
    expect((await usage('from=2026-06-01T10:30:00Z&to=2026-06-01T11:05:00Z')).body.totals.requests).toBe(1);
  });

  it('refuses bad input with a 400 that says what is wrong', async () => {
    const cases: [string, RegExp][] = [
      ['from=yesterday', /from: expected an ISO 8601/],
      ['from=2026-02-30', /from: expected an ISO 8601/],
      ['groupBy=week', /Unknown groupBy "week"/],
      ['groupBy=day,colour', /Unknown groupBy "colour"/],
      ['from=2026-06-02&to=2026-06-01', /is after to/],
      ['from=2024-01-01&to=2026-01-01', /maximum is 400/],
      ['outcome=fine', /outcome/],
      ['format=xml', /format/],
    ];
    for (const [q, message] of cases) {
      const { status, body } = await usage(q);
      expect({ q, status }).toEqual({ q, status: 400 });
      expect(body.error.code).toBe('invalid_argument');
      expect(body.error.message).toMatch(message);
    }
    expect((await getJson(h, '/admin/v1/usage', null)).status).toBe(401);
  });

  it('refuses a filter it does not know rather than answering unfiltered, and says which one was meant', async () => {
    const cases: [string, string][] = [
      [`projectId=${k3.projectId}`, '"projectId" (did you mean "project"?)'],
      ['tenant_id=acme', '"tenant_id" (did you mean "tenant"?)'],
      [`keyId=${k1.id}`, '"keyId" (did you mean "key"?)'],
      ['models=gemini-2.5-pro', '"models" (did you mean "model"?)'],
      ['GROUPBY=day', '"GROUPBY" (did you mean "groupBy"?)'],
      ['since=2026-06-01', '"since". This route accepts: tenant, project, key, model, endpoint, outcome, from, to, groupBy, modality, format.'],
    ];
    for (const [q, message] of cases) {
      const { status, body } = await usage(`${RANGE}&${q}`);
      expect({ q, status, code: body.error?.code }).toEqual({ q, status: 400, code: 'invalid_argument' });
      expect(body.error.message).toContain(message);
    }
    expect((await usage(`${RANGE}&project=${k3.projectId}&format=csv`)).status).toBe(200);
  });
});

describe('GET /admin/v1/usage/events', () => {
  it('lists raw events newest first, with filters, and pages with a cursor', async () => {
    const all = (await getJson(h, `/admin/v1/usage/events?${RANGE}`)).body;
    expect(all.data.map((e: any) => e.createdAt)).toEqual([
      '2026-06-15T12:10:00.000Z', '2026-06-02T23:59:59.000Z', '2026-06-02T09:30:00.000Z', '2026-06-02T09:00:00.000Z',
      '2026-06-01T11:05:00.000Z', '2026-06-01T10:45:00.000Z', '2026-06-01T10:15:00.000Z', '2026-05-20T08:00:00.000Z',
    ]);
    expect(all.nextCursor).toBeNull();
    expect(all.data[3]).toMatchObject({ project: 'batch', tenant: 'acme', keyPrefix: k3.prefix, model: PRO, outcome: 'client_aborted', promptTokens: 300_000, estimatedCostUsd: 0.75075, stream: true });
    const pages: string[] = [];
    let cursor = '';
    for (let i = 0; i < 5; i++) {
      const page = (await getJson(h, `/admin/v1/usage/events?limit=3${cursor ? `&cursor=${cursor}` : ''}`)).body;
      pages.push(...page.data.map((e: any) => e.requestId));
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    expect(pages).toEqual(all.data.map((e: any) => e.requestId));
    const web = (await getJson(h, `/admin/v1/usage/events?project=web&outcome=ok&from=2026-06-01T10:30:00Z`)).body.data;
    expect(web.map((e: any) => e.createdAt)).toEqual(['2026-06-01T10:45:00.000Z']);
  });

  it('refuses a forged cursor and a bad limit', async () => {
    expect((await getJson(h, '/admin/v1/usage/events?cursor=bm9wZQ')).body.error.message).toMatch(/cursor/);
    expect((await getJson(h, '/admin/v1/usage/events?limit=0')).status).toBe(400);
    expect((await getJson(h, '/admin/v1/usage/events?from=2026-06-02&to=2026-06-01')).status).toBe(400);
    const unknown = await getJson(h, `/admin/v1/usage/events?${RANGE}&page_size=2&curser=abc`);
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toMatch(/^Unknown query parameters "page_size", "curser" \(did you mean "cursor"\?\)\. This route accepts: .*limit, cursor, format\.$/);
  });

  it('refuses a well-formed cursor whose id is not an event id (a string), on either backend', async () => {
    // Event ids are integers; Postgres rejects a text id for its bigint column, which must not become a 500.
    const forged = Buffer.from(JSON.stringify([Date.parse('2026-06-02T00:00:00Z'), 'abc'])).toString('base64url');
    const r = await getJson(h, `/admin/v1/usage/events?cursor=${forged}`);
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'invalid_argument', message: expect.stringMatching(/cursor/) });
  });

  it('lists every rate the cost estimates use: audio, image and video prices and the batch discount', async () => {
    const camel = (s: string) => s.replace(/_(\w)/g, (_, c: string) => c.toUpperCase());
    /** A price entry of the file in the API's names; long_context nests the same way. */
    const asApi = (p: Record<string, unknown>): Record<string, unknown> =>
      Object.fromEntries(Object.entries(p).map(([k, v]) => (k === 'long_context' ? ['longContext', asApi(v as Record<string, unknown>)] : [camel(k), v])));
    const { body } = await getJson(h, '/admin/v1/usage/prices');
    const listed = body.data.map((t: any) => ({ batchDiscount: t.batchDiscount, models: t.models }));
    const expected = [...shippedPrices]
      .sort((a, b) => Date.parse(b.effective_from) - Date.parse(a.effective_from))
      .map((t) => ({ batchDiscount: t.batch_discount ?? 0.5, models: Object.fromEntries(Object.entries(t.models).map(([m, p]) => [m, asApi(p)])) }));
    expect(listed).toEqual(expected);
  });

  it('lists the price tables (in camelCase) and the models seen without a price', async () => {
    const { body } = await getJson(h, '/admin/v1/usage/prices');
    expect(body.nextCursor).toBeNull();
    // Newest first: dated changes, then the base table that lists every model.
    const base = body.data.at(-1);
    expect(body.data.map((t: any) => t.effectiveFrom)).toEqual([...body.data.map((t: any) => t.effectiveFrom)].sort().reverse());
    expect(base.models[FLASH]).toMatchObject({ input: 0.3, output: 2.5, cachedInput: expect.any(Number) });
    expect(Object.values(base.models).some((m: any) => m.longContext?.abovePromptTokens > 0)).toBe(true);
    expect((await getJson(h, '/admin/v1/usage/unpriced-models')).body).toEqual({ data: [{ model: 'mystery-model', requests: 1 }], nextCursor: null });
    const doc = (await getJson(h, '/admin/v1/openapi.json', null)).body;
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/admin/v1/usage', '/admin/v1/usage/events', '/admin/v1/usage/prices', '/admin/v1/usage/unpriced-models']));
  });
});
