import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startHarness, type Harness, type UsageEventRow } from '../support/harness.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js';
import { setLimits } from '../support/quota.js';

const SERVER = 2; // OTLP SpanKind
const CLIENT = 3;
const ERROR = 2; // OTLP StatusCode
const CLIENT_TRACE = '0af7651916cd43dd8448eb211c80319c';
const CLIENT_SPAN = 'b7ad6b7169203331';

let receiver: OtlpReceiver;
let h: Harness;
let rows: UsageEventRow[];
let spans: ReceivedSpan[];
let upstreamTraceparent: string | undefined;
let secrets: string[];

/** Every kind of exchange the issue names, through the real SDK where a client would use it; then the gateway shuts down, which exports everything. */
beforeAll(async () => {
  receiver = await startOtlpReceiver();
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  h = await startHarness({
    env: { ADMIN_TOKEN, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_SERVICE_NAME: 'gateway-under-test' },
    fake: { beforeFrame: (i, req) => (req.url.includes('google-reasoning-gemini3') && i === 2 ? held : undefined) },
  });
  const { key } = await h.createKey('acme', 'web');
  const limited = await h.createKey('acme', 'limited');
  await setLimits(h, await h.projectOf(limited.id), { limits: [{ requestsPerMinute: 1 }] });
  const ai = h.sdk(key);

  await ai.models.generateContent({ model: 'google-reasoning', contents: 'hi' });
  for await (const _ of await ai.models.generateContentStream({ model: 'google-text', contents: 'hi' })) void _;
  await ai.interactions.create({ model: 'basic', input: 'Hello, how are you?' });
  for await (const _ of await ai.interactions.create({ model: 'basic', input: 'hi', stream: true })) void _;
  // Refused: the second request in the minute is over the limit (429 before anything goes upstream).
  const lim = h.sdk(limited.key);
  await lim.models.generateContent({ model: 'google-text', contents: 'hi' });
  await expect(lim.models.generateContent({ model: 'google-text', contents: 'hi' })).rejects.toThrow();
  // Aborted: the client hangs up after two frames of a stream.
  const ac = new AbortController();
  const res = await request(`${h.url}/v1beta/models/google-reasoning-gemini3:streamGenerateContent?alt=sse`, {
    method: 'POST', headers: { 'x-goog-api-key': key, 'content-type': 'application/json' }, body: '{"contents":[{"parts":[{"text":"hi"}]}]}', signal: ac.signal,
  });
  let text = '';
  for await (const chunk of res.body) {
    text += (chunk as Buffer).toString();
    if ((text.match(/\r\n\r\n/g) ?? []).length >= 2) break;
  }
  ac.abort();
  await h.fake.requests.at(-1)!.finished;
  release();
  // Trace continuity: a client's traceparent.
  const traced = await fetch(`${h.url}/v1beta/models/google-text:generateContent`, {
    method: 'POST',
    headers: { 'x-goog-api-key': key, 'content-type': 'application/json', traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01` },
    body: '{"contents":[{"parts":[{"text":"traced"}]}]}',
  });
  expect(traced.status).toBe(200);
  upstreamTraceparent = h.fake.requests.at(-1)!.headers.traceparent as string | undefined;

  rows = await h.waitForRows(8);
  secrets = [...h.secrets];
  await h.close();
  spans = receiver.spans();
}, 60_000);
afterAll(async () => receiver?.close());

const requestSpan = (row: UsageEventRow) => {
  const found = spans.filter((s) => s.kind === SERVER && s.attributes['gemini_gateway.request_id'] === row.request_id);
  expect(found, `one request span for ${row.endpoint} ${row.model} ${row.outcome}`).toHaveLength(1);
  return found[0]!;
};
const children = (parent: ReceivedSpan) => spans.filter((s) => s.parentSpanId === parent.spanId && s.traceId === parent.traceId);
const rowWhere = (pred: (r: UsageEventRow) => boolean) => {
  const r = rows.find(pred);
  expect(r).toBeDefined();
  return r!;
};

describe('OpenTelemetry export', () => {
  it('exports one request span per usage row, with token attributes equal to that row', () => {
    expect(receiver.rejected).toEqual([]);
    expect(rows).toHaveLength(8);
    expect(spans.filter((s) => s.kind === SERVER)).toHaveLength(rows.length);
    for (const row of rows) {
      const span = requestSpan(row);
      expect(span.resource['service.name']).toBe('gateway-under-test');
      expect(span.attributes).toMatchObject({
        'gemini_gateway.endpoint': row.endpoint,
        'gemini_gateway.outcome': row.outcome,
        'gemini_gateway.key_id': row.key_id,
        'gemini_gateway.project_id': row.project_id,
        'gemini_gateway.tenant_id': row.tenant_id,
        'gemini_gateway.tenant': 'acme',
        'http.response.status_code': row.status,
        'server.address': '127.0.0.1',
        'gen_ai.provider.name': 'gcp.gemini',
        'gen_ai.request.model': row.model,
      });
      if (row.total_tokens === null) {
        expect(span.attributes['gen_ai.usage.input_tokens']).toBeUndefined();
        continue;
      }
      expect(span.attributes['gen_ai.usage.input_tokens']).toBe(row.prompt_tokens! + row.tool_use_prompt_tokens!);
      expect(span.attributes['gen_ai.usage.output_tokens']).toBe(row.output_tokens! + row.thoughts_tokens!);
      expect(span.attributes['gen_ai.usage.cache_read.input_tokens']).toBe(row.cached_tokens);
      expect(span.attributes['gen_ai.usage.reasoning.output_tokens']).toBe(row.thoughts_tokens);
      expect(span.attributes['gemini_gateway.usage.total_tokens']).toBe(row.total_tokens);
    }
  });

  it('names the operation, response model and finish reasons from what the meter kept', () => {
    const generate = requestSpan(rowWhere((r) => r.endpoint === 'generateContent' && r.model === 'google-reasoning'));
    expect(generate.name).toBe('generate_content google-reasoning');
    expect(generate.attributes['gen_ai.operation.name']).toBe('generate_content');
    expect(generate.attributes['gen_ai.response.model']).toEqual(expect.any(String));
    expect(generate.attributes['gen_ai.response.finish_reasons']).toEqual(['STOP']);
    expect(generate.attributes['gen_ai.usage.reasoning.output_tokens']).toBeGreaterThan(0);
    const stream = requestSpan(rowWhere((r) => r.endpoint === 'streamGenerateContent' && r.outcome === 'ok'));
    expect(stream.attributes['gen_ai.response.finish_reasons']).toEqual(['STOP']);
    const interaction = requestSpan(rowWhere((r) => r.endpoint === 'interactions.create' && r.stream === 0));
    expect(interaction.attributes).toMatchObject({ 'gen_ai.operation.name': 'generate_content', 'gen_ai.response.finish_reasons': ['completed'] });
    expect(requestSpan(rowWhere((r) => r.endpoint === 'interactions.create' && r.stream === 1)).attributes['gen_ai.usage.input_tokens']).toBeGreaterThan(0);
  });

  it('gives each forwarded request an admission child, an upstream client child and a first-byte event inside the request span', () => {
    for (const row of rows.filter((r) => r.outcome === 'ok')) {
      const span = requestSpan(row);
      expect(span.status.code ?? 0).not.toBe(ERROR);
      const kids = children(span);
      const admission = kids.find((s) => s.name === 'gemini_gateway.admission')!;
      const upstream = kids.find((s) => s.kind === CLIENT)!;
      expect(admission).toBeDefined();
      expect(upstream).toMatchObject({ name: 'POST', attributes: { 'http.response.status_code': 200, 'http.request.method': 'POST' } });
      expect(admission.endNs).toBeLessThanOrEqual(upstream.startNs);
      expect(span.startNs).toBeLessThanOrEqual(admission.startNs);
      expect(upstream.endNs).toBeLessThanOrEqual(span.endNs);
      const [firstByte] = span.events.filter((e) => e.name === 'gemini_gateway.first_byte');
      expect(firstByte!.timeNs).toBeGreaterThanOrEqual(upstream.startNs);
      expect(firstByte!.timeNs).toBeLessThanOrEqual(span.endNs);
      expect(firstByte!.attributes['gemini_gateway.ttfb_ms']).toBeCloseTo(row.ttfb_ms!, -1);
    }
  });

  it('marks refused and aborted requests with error status; a refusal ends in admission and never goes upstream', () => {
    const admittedRow = rowWhere((r) => r.outcome === 'ok' && r.project_id !== rows[0]!.project_id);
    expect(requestSpan(admittedRow).attributes['gemini_gateway.quota.decision']).toBe('admitted');
    expect(requestSpan(rows[0]!).attributes['gemini_gateway.quota.decision']).toBe('unlimited');

    const refused = requestSpan(rowWhere((r) => r.status === 429));
    expect(refused.status.code).toBe(ERROR);
    expect(refused.attributes).toMatchObject({ 'gemini_gateway.outcome': 'gateway_error', 'gemini_gateway.quota.decision': 'refused', 'error.type': 'gateway_error' });
    const kids = children(refused);
    expect(kids.map((k) => k.name)).toEqual(['gemini_gateway.admission']);
    expect(kids[0]!.status.code).toBe(ERROR);

    const abortedRow = rowWhere((r) => r.outcome === 'client_aborted');
    const aborted = requestSpan(abortedRow);
    expect(aborted.status.code).toBe(ERROR);
    expect(aborted.attributes['error.type']).toBe('client_aborted');
    expect(aborted.attributes['gen_ai.usage.output_tokens']).toBe(abortedRow.output_tokens! + abortedRow.thoughts_tokens!);
    expect(children(aborted).find((s) => s.kind === CLIENT)!.status.code).toBe(ERROR);
  });

  it('continues a client trace and sends its own upstream span as traceparent', () => {
    const row = rows.at(-1)!;
    const span = requestSpan(row);
    expect(span.traceId).toBe(CLIENT_TRACE);
    expect(span.parentSpanId).toBe(CLIENT_SPAN);
    const upstream = children(span).find((s) => s.kind === CLIENT)!;
    expect(upstreamTraceparent).toBe(`00-${CLIENT_TRACE}-${upstream.spanId}-01`);
    // Without a client trace the gateway starts one, and upstream still gets the gateway's context.
    expect(requestSpan(rows[0]!).parentSpanId).toBe('');
  });

  it('exports the GenAI metrics, token usage summing to the usage rows by token type', () => {
    const usage = receiver.histogram('gen_ai.client.token.usage')!;
    expect(usage.unit).toBe('{token}');
    const sum = (type: string) => usage.points.filter((p) => p.attributes['gen_ai.token.type'] === type).reduce((a, p) => a + p.sum, 0);
    const metered = rows.filter((r) => r.total_tokens !== null && r.endpoint !== 'countTokens');
    expect(sum('input')).toBe(metered.reduce((a, r) => a + r.prompt_tokens! + r.tool_use_prompt_tokens!, 0));
    expect(sum('output')).toBe(metered.reduce((a, r) => a + r.output_tokens! + r.thoughts_tokens!, 0));
    for (const p of usage.points) expect(p.attributes).toMatchObject({ 'gen_ai.provider.name': 'gcp.gemini', 'gen_ai.operation.name': expect.any(String), 'gemini_gateway.tenant': 'acme' });

    const duration = receiver.histogram('gen_ai.client.operation.duration')!;
    expect(duration.unit).toBe('s');
    expect(duration.points.reduce((a, p) => a + p.count, 0)).toBe(rows.length);
    expect(duration.points.filter((p) => p.attributes['error.type'] !== undefined).reduce((a, p) => a + p.count, 0)).toBe(2);

    const ttfc = receiver.histogram('gen_ai.client.operation.time_to_first_chunk')!;
    expect(ttfc.points.reduce((a, p) => a + p.count, 0)).toBe(rows.filter((r) => r.stream === 1).length);
  });

  it('puts no prompt or answer content and no key on any span by default', () => {
    for (const s of spans) {
      expect(s.attributes['gen_ai.input.messages']).toBeUndefined();
      expect(s.attributes['gen_ai.output.messages']).toBeUndefined();
    }
    const all = receiver.bodies.join('\n');
    expect(all).not.toContain('traced');
    for (const secret of secrets) expect(all).not.toContain(secret);
  });
});
