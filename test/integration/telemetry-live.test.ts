import { GoogleGenAI } from '@google/genai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, type UsageEventRow } from '../support/harness.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js';
import { setLimits } from '../support/quota.js';
import { clientFrames, rawConnect, recording, sdkConnect, serverFrames, startLiveHarness, type LiveHarness } from '../support/live.js';
import type { LiveScript } from '../support/fake-live-upstream.js';

const MODEL = 'gemini-live-2.5-flash-preview';
const PROMPT = 'Hello what should we talk about?';
const SERVER = 2; // OTLP SpanKind
const CLIENT = 3;
const ERROR = 2; // OTLP StatusCode
const CLIENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';

/** The recorded text session with its turn played twice: 553 tokens per turn. */
function twoTurns(): LiveScript {
  const { steps } = recording('should_send_text_in_async_session');
  return { steps: [...steps, ...steps.slice(2)] };
}

let receiver: OtlpReceiver;
let h: LiveHarness;
let rows: UsageEventRow[];
let spans: ReceivedSpan[];
let secrets: string[];
let tokenSecret: string;
let upstreamTraceparent: string | undefined;
const sessions: Record<'sdk' | 'traced' | 'aborted' | 'token' | 'badSetup' | 'holder' | 'cut', string> = { sdk: '', traced: '', aborted: '', token: '', badSetup: '', holder: '', cut: '' };

/**
 * Live sessions of every kind through a gateway exporting to a real OTLP/HTTP receiver: a two-turn
 * session from the real SDK, one from a raw client that sends a traceparent, one the client drops
 * after its first turn, one opened with an ephemeral token, and upgrades refused for a bad key and
 * for quota. Then the gateway shuts down, which exports everything.
 */
beforeAll(async () => {
  receiver = await startOtlpReceiver();
  const script = twoTurns();
  h = await startLiveHarness(script, { env: { ADMIN_TOKEN, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' } });
  const { key } = await h.createKey('acme', 'web');
  const limited = await h.createKey('acme', 'limited');
  await setLimits(h, await h.projectOf(limited.id), { limits: [{ maxConcurrent: 1 }] });
  const capped = await h.createKey('acme', 'capped');
  await setLimits(h, await h.projectOf(capped.id), { hardCap: true, limits: [{ tokensPerDay: 1000 }] });
  const frames = clientFrames(script);
  const firstTurnFrames = script.steps.slice(0, script.steps.findIndex((s, i) => i > 2 && s.dir === '>')).filter((s) => s.dir === '<').length;

  // The real SDK, two turns, closed by the client.
  const s = await sdkConnect(h.sdk(key), MODEL);
  s.session.sendClientContent({ turns: PROMPT });
  await s.waitFor(3);
  s.session.sendClientContent({ turns: PROMPT });
  await s.waitFor(5);
  s.session.close();
  await s.closed;
  await h.live.sessions[0]!.closed;

  // A raw client continuing its own trace.
  const traced = rawConnect(h.liveUrl('v1beta', `?key=${key}`), { traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01` });
  await traced.opened;
  for (const f of frames) traced.ws.send(f);
  await traced.waitFrames(serverFrames(script).length);
  traced.ws.close(1000, 'done');
  await traced.closed;
  await h.live.sessions[1]!.closed;
  upstreamTraceparent = h.live.sessions[1]!.headers.traceparent as string | undefined;

  // Dropped by the client (no close frame) after its first turn.
  const aborted = rawConnect(h.liveUrl('v1beta', `?key=${key}`));
  await aborted.opened;
  aborted.ws.send(frames[0]!);
  aborted.ws.send(frames[1]!);
  await aborted.waitFrames(firstTurnFrames);
  aborted.ws.terminate();
  await h.live.sessions[2]!.closed;

  // An ephemeral token: its id may be on the span, never the token.
  const token = await new GoogleGenAI({ apiKey: key, httpOptions: { baseUrl: h.publicUrl, apiVersion: 'v1alpha' } }).authTokens.create({ config: { uses: 1 } });
  tokenSecret = token.name!;
  h.secrets.add(tokenSecret);
  const viaToken = rawConnect(h.url.replace(/^http/, 'ws') + `/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContentConstrained?access_token=${encodeURIComponent(tokenSecret)}`);
  await viaToken.opened;
  viaToken.ws.send(frames[0]!);
  await viaToken.waitFrames(1);
  viaToken.ws.close(1000);
  await viaToken.closed;
  await h.live.sessions[3]!.closed;

  // Refused at the setup: the first frame is not JSON (1007), so nothing goes upstream.
  const badSetup = rawConnect(h.liveUrl('v1beta', `?key=${key}`));
  await badSetup.opened;
  badSetup.ws.send('not a setup');
  expect((await badSetup.closed).code).toBe(1007);

  // Refused: a key the gateway does not know (401), and a second session over max_concurrent (429).
  expect((await rawConnect(h.liveUrl('v1beta', '?key=ggw_not_a_key_0123456789abcdefgh')).refused).status).toBe(401);
  const holder = rawConnect(h.liveUrl('v1beta', `?key=${limited.key}`));
  await holder.opened;
  expect((await rawConnect(h.liveUrl('v1beta', `?key=${limited.key}`)).refused).status).toBe(429);
  holder.ws.close(1000);
  await holder.closed;

  // Cut by the hard cap: the second turn takes the project past 1000 tokens a day (1008).
  const cut = rawConnect(h.liveUrl('v1beta', `?key=${capped.key}`));
  await cut.opened;
  for (const f of frames) cut.ws.send(f);
  expect((await cut.closed).code).toBe(1008);

  // 2 sessions × (2 turns + 1) + 1 turn + 1 for the drop + the token's creation and session + the bad setup + the holder + 1 refusal + 2 turns and the cut session.
  rows = await h.waitForRows(16);
  const sessionIds = rows.filter((r) => r.endpoint === 'live_session' && r.status !== 429).map((r) => r.request_id);
  [sessions.sdk, sessions.traced, sessions.aborted, sessions.token, sessions.badSetup, sessions.holder, sessions.cut] = sessionIds as [string, string, string, string, string, string, string];
  secrets = [...h.secrets, tokenSecret, key, limited.key];
  await h.close();
  spans = receiver.spans();
}, 60_000);
afterAll(async () => receiver?.close());

const sessionSpan = (requestId: string) => {
  const found = spans.filter((s) => s.kind === SERVER && s.attributes['gemini_gateway.request_id'] === requestId);
  expect(found, `one session span for ${requestId}`).toHaveLength(1);
  return found[0]!;
};
const children = (parent: ReceivedSpan) => spans.filter((s) => s.parentSpanId === parent.spanId && s.traceId === parent.traceId);
const turnRows = (requestId: string) => rows.filter((r) => r.request_id === requestId && r.endpoint === 'live');
const sessionRow = (requestId: string) => rows.find((r) => r.request_id === requestId && r.endpoint === 'live_session')!;
const sum = (list: UsageEventRow[], f: (r: UsageEventRow) => number) => list.reduce((a, r) => a + f(r), 0);

describe('OpenTelemetry for Live sessions', () => {
  it('exports one SERVER span per session, named for the operation and model, with the GenAI and gateway attributes', () => {
    expect(receiver.rejected).toEqual([]);
    expect(rows).toHaveLength(16);
    // Every session and the two refused upgrades; nothing else is a SERVER span.
    expect(spans.filter((s) => s.kind === SERVER)).toHaveLength(9);
    const span = sessionSpan(sessions.sdk);
    const row = sessionRow(sessions.sdk);
    expect(span.name).toBe(`generate_content ${MODEL}`);
    expect(span.status.code ?? 0).not.toBe(ERROR);
    expect(span.attributes).toMatchObject({
      'gen_ai.operation.name': 'generate_content',
      'gen_ai.provider.name': 'gcp.gemini',
      'gen_ai.request.model': MODEL,
      'gen_ai.conversation.id': row.request_id,
      'server.address': '127.0.0.1',
      'http.response.status_code': 101,
      'gemini_gateway.endpoint': 'live_session',
      'gemini_gateway.tenant': 'acme',
      'gemini_gateway.tenant_id': row.tenant_id,
      'gemini_gateway.project': 'web',
      'gemini_gateway.project_id': row.project_id,
      'gemini_gateway.key_id': row.key_id,
      'gemini_gateway.upstream_key_id': row.upstream_key_id,
      'gemini_gateway.outcome': 'ok',
      'gemini_gateway.quota.decision': 'unlimited',
      'gemini_gateway.live.turns': 2,
      'gemini_gateway.live.close_code': row.status,
      'gemini_gateway.live.closed_by': 'client',
    });
    expect(span.events.find((e) => e.name === 'gemini_gateway.first_byte')!.attributes['gemini_gateway.ttfb_ms']).toBeCloseTo(row.ttfb_ms!, -1);
  });

  it('sums the session\'s turn rows into gen_ai.usage.*, with one turn event per row carrying that row\'s usage', () => {
    for (const id of [sessions.sdk, sessions.traced, sessions.aborted, sessions.cut]) {
      const span = sessionSpan(id);
      const turns = turnRows(id);
      expect(turns.length).toBeGreaterThan(0);
      expect(span.attributes['gen_ai.usage.input_tokens']).toBe(sum(turns, (r) => r.prompt_tokens! + r.tool_use_prompt_tokens!));
      expect(span.attributes['gen_ai.usage.output_tokens']).toBe(sum(turns, (r) => r.output_tokens! + r.thoughts_tokens!));
      expect(span.attributes['gen_ai.usage.cache_read.input_tokens']).toBe(sum(turns, (r) => r.cached_tokens!));
      expect(span.attributes['gen_ai.usage.reasoning.output_tokens']).toBe(sum(turns, (r) => r.thoughts_tokens!));
      expect(span.attributes['gemini_gateway.usage.total_tokens']).toBe(sum(turns, (r) => r.total_tokens!));
      const events = span.events.filter((e) => e.name === 'gemini_gateway.live.turn');
      expect(events.map((e) => e.attributes['gemini_gateway.usage.total_tokens'])).toEqual(turns.map((r) => r.total_tokens));
      expect(events.map((e) => e.attributes['gen_ai.usage.input_tokens'])).toEqual(turns.map((r) => r.prompt_tokens! + r.tool_use_prompt_tokens!));
      expect(events.map((e) => e.attributes['gemini_gateway.live.turn'])).toEqual(turns.map((_, i) => i + 1));
      for (const e of events) expect(e.timeNs).toBeGreaterThanOrEqual(span.startNs);
    }
    expect(sessionSpan(sessions.sdk).attributes['gen_ai.usage.input_tokens']).toBe(1030);
    // A session with no turn reports no usage rather than zeros.
    expect(sessionSpan(sessions.holder).attributes['gen_ai.usage.input_tokens']).toBeUndefined();
  });

  it('gives each session an admission child and a CLIENT child for the upstream WebSocket', () => {
    const span = sessionSpan(sessions.sdk);
    const kids = children(span);
    const admission = kids.find((k) => k.name === 'gemini_gateway.admission')!;
    const upstream = kids.find((k) => k.kind === CLIENT)!;
    expect(admission.status.code ?? 0).not.toBe(ERROR);
    expect(upstream).toMatchObject({ name: 'GET', attributes: { 'http.request.method': 'GET', 'http.response.status_code': 101, 'url.full': expect.stringMatching(/^ws:\/\/127\.0\.0\.1:\d+\/ws\/google\.ai\.generativelanguage\.v1beta\.GenerativeService\.BidiGenerateContent$/) } });
    expect(span.startNs).toBeLessThanOrEqual(admission.startNs);
    expect(admission.endNs).toBeLessThanOrEqual(upstream.startNs);
    expect(upstream.endNs).toBeLessThanOrEqual(span.endNs);
  });

  it('continues a client trace from the upgrade request and sends the upstream span as traceparent', () => {
    const span = sessionSpan(sessions.traced);
    expect(span.traceId).toBe(CLIENT_TRACE);
    expect(span.parentSpanId).toBe(CLIENT_SPAN);
    const upstream = children(span).find((k) => k.kind === CLIENT)!;
    expect(upstreamTraceparent).toBe(`00-${CLIENT_TRACE}-${upstream.spanId}-01`);
    expect(span.attributes).toMatchObject({ 'gemini_gateway.live.close_code': 1000, 'gemini_gateway.live.close_reason': 'done' });
    expect(sessionSpan(sessions.sdk).parentSpanId).toBe('');
  });

  it('marks refused and aborted sessions with error status', () => {
    const aborted = sessionSpan(sessions.aborted);
    expect(aborted.status.code).toBe(ERROR);
    expect(aborted.attributes).toMatchObject({ 'gemini_gateway.outcome': 'client_aborted', 'error.type': 'client_aborted', 'gemini_gateway.live.close_code': 1006 });

    const quota = sessionSpan(rows.find((r) => r.endpoint === 'live_session' && r.status === 429)!.request_id);
    expect(quota.status.code).toBe(ERROR);
    expect(quota.attributes).toMatchObject({ 'http.response.status_code': 429, 'gemini_gateway.outcome': 'gateway_error', 'gemini_gateway.quota.decision': 'refused', 'gemini_gateway.project': 'limited' });
    expect(children(quota).map((k) => [k.name, k.status.code])).toEqual([['gemini_gateway.admission', ERROR]]);
    expect(sessionSpan(sessions.holder).attributes['gemini_gateway.quota.decision']).toBe('admitted');

    // Refused at the setup: admission fails, nothing went upstream.
    const badSetup = sessionSpan(sessions.badSetup);
    expect(badSetup.status.code).toBe(ERROR);
    expect(badSetup.attributes).toMatchObject({ 'gemini_gateway.outcome': 'gateway_error', 'gemini_gateway.live.close_code': 1007, 'gemini_gateway.live.closed_by': 'gateway' });
    expect(children(badSetup).map((k) => [k.name, k.status.code])).toEqual([['gemini_gateway.admission', ERROR]]);
    // Cut by the hard cap: the gateway closed it after the turn that crossed the budget.
    const cut = sessionSpan(sessions.cut);
    expect(cut.status.code).toBe(ERROR);
    expect(cut.attributes).toMatchObject({ 'gemini_gateway.outcome': 'quota_cut', 'error.type': 'quota_cut', 'gemini_gateway.quota.decision': 'cut', 'gemini_gateway.live.close_code': 1008, 'gemini_gateway.live.closed_by': 'gateway', 'gemini_gateway.usage.total_tokens': 1106 });
    expect(cut.attributes['gemini_gateway.live.close_reason']).toMatch(/tokens_per_day limit of 1000/);

    // Upstream saw the five sessions that sent a valid setup, not this one (nor the holder, which sent none).
    expect(h.live.sessions).toHaveLength(5);
    expect(JSON.parse(sessionRow(sessions.badSetup).usage_json!)).toMatchObject({ closeCode: 1007, closedBy: 'gateway' });

    // A bad key: no usage row (no one to charge), but the operator sees why the handshake failed.
    const unknown = spans.filter((s) => s.kind === SERVER && s.attributes['http.response.status_code'] === 401);
    expect(unknown).toHaveLength(1);
    expect(unknown[0]!.status.code).toBe(ERROR);
    expect(unknown[0]!.attributes['gemini_gateway.tenant']).toBeUndefined();
    expect(unknown[0]!.attributes['gemini_gateway.quota.decision']).toBeUndefined();
    expect(rows.some((r) => r.request_id === unknown[0]!.attributes['gemini_gateway.request_id'])).toBe(false);
  });

  it('names the ephemeral token by its id only', () => {
    const span = sessionSpan(sessions.token);
    expect(span.attributes['gemini_gateway.live.auth_token_id']).toEqual(expect.any(String));
    expect(JSON.parse(sessionRow(sessions.token).usage_json!).authToken).toBe(span.attributes['gemini_gateway.live.auth_token_id']);
  });

  it('exports the GenAI metrics for Live turns, token usage equal to the turn rows', () => {
    const usage = receiver.histogram('gen_ai.client.token.usage')!;
    const live = usage.points.filter((p) => p.attributes['gemini_gateway.endpoint'] === 'live');
    const turns = rows.filter((r) => r.endpoint === 'live');
    const byType = (t: string) => live.filter((p) => p.attributes['gen_ai.token.type'] === t).reduce((a, p) => a + p.sum, 0);
    expect(byType('input')).toBe(sum(turns, (r) => r.prompt_tokens! + r.tool_use_prompt_tokens!));
    expect(byType('output')).toBe(sum(turns, (r) => r.output_tokens! + r.thoughts_tokens!));
    for (const p of live) expect(p.attributes).toMatchObject({ 'gen_ai.operation.name': 'generate_content', 'gen_ai.provider.name': 'gcp.gemini', 'gen_ai.request.model': MODEL, 'gemini_gateway.tenant': 'acme' });
    const duration = receiver.histogram('gen_ai.client.operation.duration')!;
    expect(duration.points.filter((p) => p.attributes['gemini_gateway.endpoint'] === 'live').reduce((a, p) => a + p.count, 0)).toBe(turns.length);
  });

  it('puts no content and no secret (keys, ephemeral token) in any export', () => {
    const all = receiver.bodies.join('\n');
    // The sessions were exported (so the checks below look at them).
    expect(all).toContain('gemini_gateway.live.turn');
    expect(all).not.toContain(PROMPT);
    for (const secret of secrets) expect(all).not.toContain(secret);
    expect(all).not.toContain('ggwt_');
    expect(all).not.toContain('ggw_not_a_key');
  });
});
