import parsePrometheusTextFormat, { type PromFamily } from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';
import { generate, setLimits } from '../support/quota.js';
import { ADMIN_TOKEN, getJson, seedKey, type SeedKey } from '../support/usage-seed.js';

const METRICS_TOKEN = 'metrics-token-for-tests-012345';
let h: Harness;
let web: SeedKey, app: SeedKey;
let release: () => void = () => {};
const held = new Promise<void>((r) => (release = r));

beforeAll(async () => {
  h = await startHarness({
    env: { ADMIN_TOKEN, METRICS_TOKEN },
    fake: { beforeFrame: async (i, req) => (req.url.includes('held-stream') && i >= 1 ? held : undefined) },
  });
  web = await seedKey(h, 'acme', 'web');
  app = await seedKey(h, 'globex', 'app');
});
afterAll(async () => h.close());

interface Scrape extends Map<string, PromFamily> {
  /** `_count` of a labelled histogram (the parser folds labelled histograms into one sample, so read that line itself). */
  histogramCount(name: string, labels: Record<string, string>): number;
}

async function scrape(token = METRICS_TOKEN): Promise<Scrape> {
  const { status, body, headers } = await getJson(h, '/metrics', token);
  expect(status).toBe(200);
  expect(headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = body as string;
  const families = new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f])) as Scrape;
  families.histogramCount = (name, labels) => {
    const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
    const line = text.split('\n').find((l) => l.startsWith(`${name}_count{`) && want.every((w) => l.includes(w)));
    return line ? Number(line.split(' ').at(-1)) : 0;
  };
  return families;
}

const sample = (m: Map<string, PromFamily>, name: string, labels: Record<string, string>) =>
  m.get(name)?.metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v));
const value = (m: Map<string, PromFamily>, name: string, labels: Record<string, string> = {}) => Number(sample(m, name, labels)?.value ?? 0);

describe('GET /metrics', () => {
  it('counts requests, tokens, latencies and streams as they happened', async () => {
    const a = h.sdk(web.key);
    const b = h.sdk(app.key);
    for (let i = 0; i < 3; i++) await a.models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi' });
    for await (const _ of await a.models.generateContentStream({ model: 'google-text', contents: 'hi' })) void _;
    await a.models.generateContent({ model: 'rate-limited', contents: 'x' }).catch(() => undefined);
    for (let i = 0; i < 2; i++) await b.models.generateContent({ model: 'gemini-2.5-pro', contents: 'hi' });

    // A stream held open upstream is in flight until it ends.
    const res = await fetch(`${h.url}/v1beta/models/held-stream:streamGenerateContent?alt=sse`, {
      method: 'POST', headers: { 'x-goog-api-key': app.key, 'content-type': 'application/json' }, body: '{"contents":[]}',
    });
    const reader = res.body!.getReader();
    await reader.read();
    expect(value(await scrape(), 'gemini_gateway_inflight_streams')).toBe(1);
    release();
    while (!(await reader.read()).done);
    const rows = await h.waitForRows(8);
    expect(rows).toHaveLength(8);

    const m = await scrape();
    expect(value(m, 'gemini_gateway_inflight_streams')).toBe(0);
    const requests = (project: string, endpoint: string, status: string) => value(m, 'gemini_gateway_requests_total', { project, endpoint, status });
    expect(requests('web', 'generateContent', '200')).toBe(3);
    expect(requests('web', 'generateContent', '429')).toBe(1);
    expect(requests('web', 'streamGenerateContent', '200')).toBe(1);
    expect(requests('app', 'generateContent', '200')).toBe(2);
    expect(requests('app', 'streamGenerateContent', '200')).toBe(1);
    expect(sample(m, 'gemini_gateway_requests_total', { tenant: 'globex', project: 'app' })).toBeDefined();

    // Tokens by project, model and kind equal the metered rows.
    const sums = await h.query<Record<string, string | number>>(`SELECT p.slug AS project, e.model, sum(prompt_tokens) AS prompt, sum(cached_tokens) AS cached,
      sum(output_tokens) AS output, sum(thoughts_tokens) AS thoughts FROM usage_events e JOIN projects p ON p.id = e.project_id
      WHERE total_tokens IS NOT NULL GROUP BY 1, 2`);
    expect(sums.length).toBeGreaterThanOrEqual(3);
    for (const s of sums) {
      for (const kind of ['prompt', 'cached', 'output', 'thoughts']) {
        expect({ ...s, kind, got: value(m, 'gemini_gateway_tokens_total', { project: String(s.project), model: String(s.model), kind }) }).toEqual({ ...s, kind, got: Number(s[kind]) });
      }
    }

    expect(m.histogramCount('gemini_gateway_upstream_latency_seconds', { endpoint: 'generateContent' })).toBe(6);
    expect(m.histogramCount('gemini_gateway_upstream_ttfb_seconds', { endpoint: 'streamGenerateContent' })).toBe(2);
    expect(m.get('gemini_gateway_upstream_latency_seconds')!.type).toBe('HISTOGRAM');
    expect(value(m, 'gemini_gateway_usage_writer_rows_total')).toBe(8);
    expect(m.histogramCount('gemini_gateway_usage_writer_flush_seconds', { result: 'ok' })).toBeGreaterThan(0);
    expect(m.get('gemini_gateway_usage_writer_queue_depth')!.metrics[0]!.value).toBe('0');
    expect(m.has('process_cpu_user_seconds_total')).toBe(true);
  });

  it('counts quota refusals by the limit that refused, and the 429 among the requests', async () => {
    const limited = await seedKey(h, 'acme', 'limited');
    await setLimits(h, limited.projectId, { limits: [{ requestsPerMinute: 1 }] });
    expect((await generate(h, limited.key)).status).toBe(200);
    expect((await generate(h, limited.key)).status).toBe(429);
    await h.waitForRows(10);
    const m = await scrape(ADMIN_TOKEN);
    expect(value(m, 'gemini_gateway_quota_refusals_total', { project: 'limited', limit: 'requests_per_minute' })).toBe(1);
    expect(value(m, 'gemini_gateway_requests_total', { project: 'limited', endpoint: 'generateContent', status: '429' })).toBe(1);
    expect(value(m, 'gemini_gateway_requests_total', { project: 'limited', endpoint: 'generateContent', status: '200' })).toBe(1);
  });

  it('needs the metrics or the admin token', async () => {
    expect((await getJson(h, '/metrics', null)).status).toBe(401);
    expect((await getJson(h, '/metrics', 'not-the-token-0123456789')).status).toBe(401);
    expect((await getJson(h, '/metrics', web.key)).status).toBe(401);
    const bare = await startHarness();
    try {
      const res = await fetch(`${bare.url}/metrics`);
      expect(res.status).toBe(503);
      expect(((await res.json()) as any).error.message).toMatch(/METRICS_TOKEN/);
    } finally {
      await bare.close();
    }
  });
});
