// Metric attributes must stay a bounded set whatever clients send: a made-up model name is a new
// series on every OTLP histogram it labels, and the SDK lumps everything past its cardinality limit
// into one overflow series, real models included.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { googleError } from '../support/fake-upstream-http.js';
import { ADMIN_TOKEN, startHarness, type Harness, type UsageEventRow } from '../support/harness.js';
import { startOtlpReceiver, type HistogramPoint, type OtlpReceiver } from '../support/otlp-receiver.js';
import { setLimits } from '../support/quota.js';

const MADE_UP = 4;
let receiver: OtlpReceiver;
let h: Harness;
let rows: UsageEventRow[];
let duration: HistogramPoint[];

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  h = await startHarness({
    env: { ADMIN_TOKEN, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' },
    fake: {
      // As Google answers a model it does not have.
      intercept: (ctx) => (ctx.url.pathname.includes('/models/made-up-') ? (googleError(ctx, 404, 'models/x is not found for API version v1beta.'), true) : false),
    },
  });
  const post = (key: string, model: string) =>
    fetch(`${h.url}/v1beta/models/${model}:generateContent`, { method: 'POST', headers: { 'x-goog-api-key': key, 'content-type': 'application/json' }, body: '{"contents":[{"parts":[{"text":"hi"}]}]}' });
  const { key } = await h.createKey('acme', 'web');
  expect((await post(key, 'google-text')).status).toBe(200);
  for (let i = 0; i < MADE_UP; i++) expect((await post(key, `made-up-${randomUUID()}`)).status).toBe(404);
  // Refused by the gateway itself, before upstream could say the model does not exist.
  const limited = await h.createKey('acme', 'limited');
  await setLimits(h, await h.projectOf(limited.id), { limits: [{ requestsPerMinute: 1 }] });
  expect((await post(limited.key, 'google-text')).status).toBe(200);
  for (let i = 0; i < MADE_UP; i++) expect((await post(limited.key, `made-up-${randomUUID()}`)).status).toBe(429);
  rows = await h.waitForRows(2 + 2 * MADE_UP);
  await h.close();
  duration = receiver.histogram('gen_ai.client.operation.duration')!.points;
}, 60_000);
afterAll(async () => receiver?.close());

describe('OpenTelemetry metric cardinality', () => {
  it('labels durations with the requested model only once upstream accepted it, and still counts every request', () => {
    expect(duration.reduce((a, p) => a + p.count, 0)).toBe(rows.length);
    const models = new Set(duration.map((p) => p.attributes['gen_ai.request.model']));
    expect([...models].sort()).toEqual(['google-text', undefined]);
    const failed = duration.filter((p) => p.attributes['error.type'] !== undefined);
    expect(failed.reduce((a, p) => a + p.count, 0)).toBe(2 * MADE_UP);
    expect(failed.map((p) => p.attributes['error.type']).sort()).toEqual(['404', 'gateway_error']);
  });
});
