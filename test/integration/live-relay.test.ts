import { GoogleGenAI } from '@google/genai';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { UPSTREAM_KEY, UPSTREAM_KEY_2 } from '../support/harness.js';
import { clientFrames, rawConnect, recording, sdkConnect, serverFrames, startLiveHarness, type LiveHarness } from '../support/live.js';

const MODEL = 'gemini-live-2.5-flash-preview';
let h: LiveHarness | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

describe('Live API relay', () => {
  it('gives the SDK the same messages, in the same order, as a direct connection', async () => {
    h = await startLiveHarness(recording('should_send_text_in_async_session'));
    const { key } = await h.createKey();
    const direct = await sdkConnect(new GoogleGenAI({ apiKey: UPSTREAM_KEY, httpOptions: { baseUrl: h.live.url } }), MODEL);
    direct.session.sendClientContent({ turns: 'Hello what should we talk about?' });
    await direct.waitFor(3);
    direct.session.close();
    const via = await sdkConnect(h.sdk(key), MODEL);
    via.session.sendClientContent({ turns: 'Hello what should we talk about?' });
    await via.waitFor(3);
    via.session.close();
    expect(JSON.stringify(via.messages)).toBe(JSON.stringify(direct.messages));
    expect(via.messages.at(-1)?.usageMetadata?.totalTokenCount).toBe(553);
    // What reached upstream through the gateway is byte for byte what the SDK sent directly.
    const [a, b] = h.live.sessions;
    expect(b!.received.map((f) => f.data.toString())).toEqual(a!.received.map((f) => f.data.toString()));
    // The SDK's baseUrl makes it open `//ws/…`; the upstream gets the upstream key in a header only.
    expect(b!.url).toMatch(/^\/ws\/google\.ai\.generativelanguage\.v1beta\.GenerativeService\.BidiGenerateContent$/);
  });

  it('relays binary frames byte-identical and a 129 KB audio frame unchanged', async () => {
    const script = recording('should_reply_to_realtime_audio_input');
    h = await startLiveHarness(script);
    const { key } = await h.createKey();
    const c = rawConnect(h.liveUrl('v1beta', `?key=${key}`));
    await c.opened;
    for (const f of clientFrames(script)) c.ws.send(f, { binary: false });
    const expected = serverFrames(script);
    await c.waitFrames(expected.length);
    expect(c.frames.map((f) => f.isBinary)).toEqual(expected.map(() => true));
    expect(c.frames.map((f) => f.data.equals(expected[c.frames.indexOf(f)]!))).toEqual(expected.map(() => true));
    const up = h.live.sessions[0]!;
    expect(up.received.map((f) => f.isBinary)).toEqual([false, false]);
    expect(up.received[1]!.data.equals(clientFrames(script)[1]!)).toBe(true);
    expect(up.received[1]!.data.length).toBeGreaterThan(129_000);
    c.ws.close(1000, 'bye');
    expect(await up.closed).toEqual({ code: 1000, reason: 'bye' });
  });

  it('records one live row per turn equal to the recorded usage, and one live_session row', async () => {
    h = await startLiveHarness(recording('should_send_text_in_async_session'));
    const { key, id } = await h.createKey();
    const s = await sdkConnect(h.sdk(key), MODEL);
    s.session.sendClientContent({ turns: 'Hello what should we talk about?' });
    await s.waitFor(3);
    s.session.close();
    const rows = await h.waitForRows(2);
    const turns = rows.filter((r) => r.endpoint === 'live');
    expect(turns).toHaveLength(1);
    expect(turns[0]).toMatchObject({ key_id: id, model: MODEL, prompt_tokens: 515, output_tokens: 38, total_tokens: 553, outcome: 'ok' });
    expect(JSON.parse(turns[0]!.usage_json!)).toEqual(s.messages.at(-1)!.usageMetadata);
    const session = rows.find((r) => r.endpoint === 'live_session')!;
    expect(session).toMatchObject({ request_id: turns[0]!.request_id, status: 1005, outcome: 'ok', total_tokens: 0, model: MODEL, upstream_key_id: expect.stringMatching(/^env:/) });
    expect(JSON.parse(session.usage_json!)).toMatchObject({ turns: 1, closeCode: 1005, closedBy: 'client' });
  });

  it('accepts the key as x-goog-api-key, Bearer or ?key=, under PUBLIC_PATH_PREFIX too, and refuses a bad key before the upgrade', async () => {
    h = await startLiveHarness(recording('should_send_text_in_async_session'), { publicPath: '/gw' });
    const { key } = await h.createKey();
    const path = '/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContent';
    const base = h.url.replace(/^http/, 'ws');
    for (const [url, headers] of [
      [`${base}/gw/${path}`, { 'x-goog-api-key': key }],
      [`${base}${path}`, { authorization: `Bearer ${key}` }],
      [`${base}/gw${path}?key=${encodeURIComponent(key)}`, {}],
    ] as const) {
      const c = rawConnect(url, headers);
      await c.opened;
      c.ws.close();
      await c.closed;
    }
    const bad = rawConnect(`${base}${path}?key=ggw_${'x'.repeat(43)}`);
    expect((await bad.refused).status).toBe(401);
    const none = rawConnect(`${base}${path}`);
    const refusal = await none.refused;
    expect(refusal.status).toBe(401);
    expect(JSON.parse(refusal.body).error.status).toBe('UNAUTHENTICATED');
    const notLive = rawConnect(`${base}/ws/something.else`, { 'x-goog-api-key': key });
    expect((await notLive.refused).status).toBe(404);
    const h2c = await fetchUpgrade(h.url, '/v1beta/models', 'h2c');
    expect(h2c).toMatch(/^HTTP\/1\.1 400 [^]*Upgrade to h2c is not supported/);
    expect(h.live.sessions).toHaveLength(0); // the three good clients sent no setup: nothing went upstream
  });

  it('serves 50 concurrent sessions, each metered', async () => {
    h = await startLiveHarness(recording('should_send_text_in_async_session'));
    const { key } = await h.createKey();
    const sessions = await Promise.all(Array.from({ length: 50 }, () => sdkConnect(h!.sdk(key), MODEL)));
    for (const s of sessions) s.session.sendClientContent({ turns: 'Hello what should we talk about?' });
    await Promise.all(sessions.map((s) => s.waitFor(3)));
    for (const s of sessions) s.session.close();
    const rows = await h.waitForRows(100, 15_000);
    expect(rows.filter((r) => r.endpoint === 'live').map((r) => r.total_tokens)).toEqual(Array(50).fill(553));
    expect(new Set(rows.filter((r) => r.endpoint === 'live_session').map((r) => r.request_id)).size).toBe(50);
  });

  it('closes upstream when the client vanishes, and records the partial turn', async () => {
    const script = recording('should_send_text_in_async_session');
    // The turn is still open when the client goes: usage arrived, turnComplete has not (as on 3.x models).
    const usageOnly = Buffer.from(script.steps.at(-1)!.data.toString().replace('"turnComplete": true', '"generationComplete": true'));
    h = await startLiveHarness({ steps: [...script.steps.slice(0, -1), { dir: '<', data: usageOnly }] });
    const { key } = await h.createKey();
    const c = rawConnect(h.liveUrl('v1beta', `?key=${key}`));
    await c.opened;
    for (const f of clientFrames(script)) c.ws.send(f, { binary: false });
    await c.waitFrames(3);
    c.ws.terminate();
    const up = h.live.sessions[0]!;
    expect((await up.closed).code).toBe(1006);
    const rows = await h.waitForRows(2);
    expect(rows.find((r) => r.endpoint === 'live')).toMatchObject({ outcome: 'client_aborted', total_tokens: 553 });
    expect(rows.find((r) => r.endpoint === 'live_session')).toMatchObject({ outcome: 'client_aborted', status: 1006 });
  });

  it('gives the client the code and reason upstream closed with', async () => {
    const script = recording('should_send_text_in_async_session');
    h = await startLiveHarness({ ...script, closeWith: { code: 1011, reason: 'Internal error encountered.' } });
    const { key } = await h.createKey();
    const s = await sdkConnect(h.sdk(key), MODEL);
    s.session.sendClientContent({ turns: 'Hello what should we talk about?' });
    expect(await s.closed).toEqual({ code: 1011, reason: 'Internal error encountered.' });
    const rows = await h.waitForRows(2);
    expect(rows.find((r) => r.endpoint === 'live_session')).toMatchObject({ status: 1011, outcome: 'upstream_error' });
  });

  it('answers a non-JSON text frame with 1007, as Google does, and forwards nothing', async () => {
    h = await startLiveHarness(recording('should_send_text_in_async_session'));
    const { key } = await h.createKey();
    const c = rawConnect(h.liveUrl('v1beta', `?key=${key}`));
    await c.opened;
    c.ws.send('hello there');
    expect(await c.closed).toEqual({ code: 1007, reason: 'Request contains an invalid argument.' });
    expect(h.live.sessions).toHaveLength(0);
  });
});

describe('Live API resumption, goAway and pings', () => {
  const pretty = (o: unknown) => ({ dir: '<' as const, data: Buffer.from(`${JSON.stringify(o, null, 2)}\n`) });

  it('passes resumption handles and goAway through, and keeps a resumed session with its project', async () => {
    const [setup, setupComplete] = recording('should_send_text_in_async_session').steps;
    const update = pretty({ sessionResumptionUpdate: { newHandle: 'resume-handle-1', resumable: true } });
    const goAway = pretty({ goAway: { timeLeft: '10s' } });
    h = await startLiveHarness({ steps: [setup!, setupComplete!, update, goAway] });
    const a = await h.createKey('acme', 'web');
    const s = await sdkConnect(h.sdk(a.key), MODEL, { sessionResumption: {} });
    await s.waitFor(3);
    expect(s.messages[1]!.sessionResumptionUpdate?.newHandle).toBe('resume-handle-1');
    expect(s.messages[2]!.goAway?.timeLeft).toBe('10s');
    s.session.close();

    const resume = (key: string) => {
      const c = rawConnect(h!.liveUrl('v1beta', `?key=${key}`));
      void c.opened.then(() => c.ws.send(JSON.stringify({ setup: { model: `models/${MODEL}`, sessionResumption: { handle: 'resume-handle-1' } } })));
      return c;
    };
    const other = resume((await h.createKey('globex', 'app')).key);
    expect((await other.closed).code).toBe(1008);
    expect(h.live.sessions).toHaveLength(1);
    const same = resume((await h.createKey('acme', 'web')).key);
    await same.waitFrames(1);
    expect(h.live.sessions).toHaveLength(2);
    same.ws.close();
    await same.closed;
  });

  it('resumes a pool session on the upstream key that holds it, while new sessions go on round the pool', async () => {
    const [setup, setupComplete] = recording('should_send_text_in_async_session').steps;
    const update = pretty({ sessionResumptionUpdate: { newHandle: 'resume-handle-pool', resumable: true } });
    h = await startLiveHarness({ steps: [setup!, setupComplete!, update] }, { extraUpstreamKeys: [UPSTREAM_KEY_2] });
    const { key } = await h.createKey();
    const upstreamKeyOf = (i: number) => h!.live.sessions[i]!.headers['x-goog-api-key'];
    const open = async (handle?: string) => {
      const c = rawConnect(h!.liveUrl('v1beta', `?key=${key}`));
      await c.opened;
      c.ws.send(JSON.stringify({ setup: { model: `models/${MODEL}`, sessionResumption: handle ? { handle } : {} } }));
      await c.waitFrames(handle ? 1 : 2);
      c.ws.close();
      await c.closed;
    };
    await open();
    // The pool's round robin picks the other key for the next upgrade: the resumed session must not stay there.
    await open('resume-handle-pool');
    await open();
    await open();
    expect(upstreamKeyOf(1)).toBe(upstreamKeyOf(0));
    expect(new Set([upstreamKeyOf(2), upstreamKeyOf(3)])).toEqual(new Set([UPSTREAM_KEY, UPSTREAM_KEY_2]));
  });

  it('passes pings and pongs through both ways', async () => {
    h = await startLiveHarness(recording('should_send_text_in_async_session'));
    const { key } = await h.createKey();
    const c = rawConnect(h.liveUrl('v1beta', `?key=${key}`));
    await c.opened;
    c.ws.send(clientFrames(recording('should_send_text_in_async_session'))[0]!, { binary: false });
    await c.waitFrames(1);
    const up = h.live.sessions[0]!;
    // The fake upstream answers pings itself (ws autoPong), so a pong back proves the ping went through.
    const pong = new Promise<Buffer>((r) => c.ws.once('pong', r));
    c.ws.ping(Buffer.from('are-you-there'));
    expect((await pong).toString()).toBe('are-you-there');
    const ping = new Promise<Buffer>((r) => c.ws.once('ping', r));
    up.socket.ping(Buffer.from('server-ping'));
    expect((await ping).toString()).toBe('server-ping');
    c.ws.close();
    await c.closed;
  });
});

describe('Live API upstream failures', () => {
  it('closes the client with 1011 when upstream refuses the session, and records upstream_error', async () => {
    h = await startLiveHarness(recording('should_send_text_in_async_session'), { env: { GEMINI_API_KEY: 'test-FAKE-key-the-fake-does-not-know-0000' } });
    const { key } = await h.createKey();
    const c = rawConnect(h.liveUrl('v1beta', `?key=${key}`));
    await c.opened;
    c.ws.send(clientFrames(recording('should_send_text_in_async_session'))[0]!, { binary: false });
    expect(await c.closed).toEqual({ code: 1011, reason: 'Upstream refused the session (HTTP 401).' });
    expect(h.live.refused).toEqual([401]);
    const rows = await h.waitForRows(1);
    expect(rows[0]).toMatchObject({ endpoint: 'live_session', outcome: 'upstream_error', status: 1011 });
  });
});

describe('Live API shutdown', () => {
  it('refuses new sessions while draining, closes open ones with 1001 when the grace period ends, and writes their rows', async () => {
    h = await startLiveHarness(recording('should_send_text_in_async_session'), { env: { USAGE_FLUSH_INTERVAL_MS: '60000' } });
    const { key } = await h.createKey();
    const s = await sdkConnect(h.sdk(key), MODEL);
    s.session.sendClientContent({ turns: 'Hello what should we talk about?' });
    await s.waitFor(3);
    const stopped = h.gateway.shutdown(300);
    const late = await rawConnect(h.liveUrl('v1beta', `?key=${key}`)).refused;
    expect(late.status).toBe(503);
    expect(await s.closed).toEqual({ code: 1001, reason: 'The gateway is shutting down.' });
    await stopped;
    const rows = await h.query('SELECT endpoint, outcome, status, total_tokens FROM usage_events ORDER BY id');
    expect(rows).toEqual([
      { endpoint: 'live', outcome: 'ok', status: 101, total_tokens: 553 },
      { endpoint: 'live_session', outcome: 'client_aborted', status: 1001, total_tokens: 0 },
    ]);
  });
});

describe('Live API backpressure', () => {
  /** Resolves once `read()` has stopped changing for a while: the pipe has settled. */
  async function settled(read: () => number): Promise<number> {
    let last = -1;
    let same = 0;
    while (same < 5) {
      await new Promise((r) => setTimeout(r, 60));
      const v = read();
      same = v === last ? same + 1 : 0;
      last = v;
    }
    return last;
  }

  it('stops reading one side while the other cannot take more, in both directions, and loses nothing', async () => {
    const script = recording('should_send_text_in_async_session');
    h = await startLiveHarness({ steps: script.steps.slice(0, 2) });
    const { key } = await h.createKey();
    const c = rawConnect(h.liveUrl('v1beta', `?key=${key}`));
    await c.opened;
    c.ws.send(clientFrames(script)[0]!, { binary: false });
    await c.waitFrames(1);
    const up = h.live.sessions[0]!;
    const MB = 1024 * 1024;
    const frames = Array.from({ length: 24 }, (_, i) => Buffer.alloc(MB, i));

    // Down: the client stops reading; upstream's sends pile up at upstream, not in the gateway.
    c.ws.pause();
    for (const f of frames) up.socket.send(f, { binary: true });
    expect(await settled(() => up.socket.bufferedAmount)).toBeGreaterThan(12 * MB);
    c.ws.resume();
    await c.waitFrames(1 + frames.length);
    expect(c.frames.slice(1).every((f, i) => f.isBinary && f.data.equals(frames[i]!))).toBe(true);

    // Up: upstream stops reading; the client's sends pile up at the client.
    up.socket.pause();
    for (const f of frames) c.ws.send(f, { binary: true });
    expect(await settled(() => c.ws.bufferedAmount)).toBeGreaterThan(12 * MB);
    up.socket.resume();
    await settled(() => up.received.length);
    expect(up.received.slice(1).every((f, i) => f.isBinary && f.data.equals(frames[i]!))).toBe(true);
    expect(up.received).toHaveLength(1 + frames.length);
    c.ws.close();
    await c.closed;
  });
});

/** A raw HTTP/1.1 request asking to upgrade to `proto`: the gateway's whole answer as text. */
function fetchUpgrade(base: string, path: string, proto: string): Promise<string> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\nConnection: Upgrade\r\nUpgrade: ${proto}\r\n\r\n`));
    let text = '';
    socket.on('data', (c) => (text += c.toString()));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
}
