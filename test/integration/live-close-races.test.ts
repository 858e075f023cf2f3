import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, UPSTREAM_KEY } from '../support/harness.js';
import { putLimits } from '../support/quota.js';
import { clientFrames, sdkConnect, rawConnect, recording, startLiveHarness, type LiveHarness } from '../support/live.js';
import type { LiveScript } from '../support/fake-live-upstream.js';

const env = { ADMIN_TOKEN };
let h: LiveHarness | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

/** The recorded text session, its last frame carrying usage but no turnComplete (the turn stays open). */
function openTurn(): LiveScript {
  const script = recording('should_send_text_in_async_session');
  const usageOnly = Buffer.from(script.steps.at(-1)!.data.toString().replace('"turnComplete": true', '"generationComplete": true'));
  return { steps: [...script.steps.slice(0, -1), { dir: '<', data: usageOnly }] };
}

describe('Live API sessions that end mid-turn or on both sides at once', () => {
  it('records the open turn once and one live_session row when upstream closes before turnComplete', async () => {
    const script = openTurn();
    h = await startLiveHarness(script, { env });
    const { key } = await h.createKey();
    const c = rawConnect(h.liveUrl('v1beta', `?key=${key}`));
    await c.opened;
    for (const f of clientFrames(script)) c.ws.send(f, { binary: false });
    await c.waitFrames(3);
    h.live.sessions[0]!.socket.close(1011, 'Internal error encountered.');
    expect(await c.closed).toEqual({ code: 1011, reason: 'Internal error encountered.' });
    const rows = await h.waitForRows(2);
    expect(rows.filter((r) => r.endpoint === 'live').map((r) => r.total_tokens)).toEqual([553]);
    expect(rows.filter((r) => r.endpoint === 'live_session')).toHaveLength(1);
  });

  it('writes one live_session row and releases the max_concurrent slot once when both sides close together', async () => {
    const script = openTurn();
    h = await startLiveHarness(script, { env });
    const { key, id } = await h.createKey();
    expect((await putLimits(h, await h.projectOf(id), { limits: [{ maxConcurrent: 1 }] })).status).toBe(200);
    const c = rawConnect(h.liveUrl('v1beta', `?key=${key}`));
    await c.opened;
    for (const f of clientFrames(script)) c.ws.send(f, { binary: false });
    await c.waitFrames(3);
    h.live.sessions[0]!.socket.close(1000, 'upstream done');
    c.ws.close(1000, 'client done');
    await c.closed;
    const rows = await h.waitForRows(2);
    expect(rows.filter((r) => r.endpoint === 'live').map((r) => r.total_tokens)).toEqual([553]);
    expect(rows.filter((r) => r.endpoint === 'live_session')).toHaveLength(1);
    const second = rawConnect(h.liveUrl('v1beta', `?key=${key}`));
    await second.opened;
    const third = rawConnect(h.liveUrl('v1beta', `?key=${key}`));
    expect((await third.refused).status).toBe(429);
    second.ws.close();
    await second.closed;
    const after = await h.waitForRows(4);
    expect(after.filter((r) => r.endpoint === 'live_session')).toHaveLength(3);
  });

  it('never passes the upstream key on to the client or the row when upstream closes with a reason quoting it', async () => {
    const script = recording('should_send_text_in_async_session');
    // Google names a suspended key this way ("Consumer 'api_key:…' has been suspended").
    const reason = `Permission denied: Consumer 'api_key:${UPSTREAM_KEY}' has been suspended.`;
    h = await startLiveHarness({ ...script, closeWith: { code: 1008, reason } }, { env });
    const { key } = await h.createKey();
    const c = rawConnect(h.liveUrl('v1beta', `?key=${key}`));
    await c.opened;
    for (const f of clientFrames(script)) c.ws.send(f, { binary: false });
    const closed = await c.closed;
    expect(closed.code).toBe(1008);
    expect(closed.reason).toMatch(/^Permission denied: Consumer 'api_key:.+' has been suspended\.$/);
    expect(closed.reason).not.toContain(UPSTREAM_KEY);
    const rows = await h.waitForRows(2);
    const session = rows.find((r) => r.endpoint === 'live_session')!;
    expect(session).toMatchObject({ status: 1008, outcome: 'upstream_error' });
    expect(session.usage_json).not.toContain(UPSTREAM_KEY);
  });

  it('keeps a Google key a client quotes in its close reason out of the live_session row, before setup too', async () => {
    h = await startLiveHarness(recording('should_send_text_in_async_session'), { env });
    const { key } = await h.createKey();
    // Built at run time, as elsewhere in the suite: no key-shaped literal is committed.
    const google = 'AIza' + 'q'.repeat(35);
    const c = rawConnect(h.liveUrl('v1beta', `?key=${key}`));
    await c.opened;
    c.ws.close(1000, `leaving, key ${google}`);
    await c.closed;
    const [row] = await h.waitForRows(1);
    expect(row).toMatchObject({ endpoint: 'live_session', status: 1000 });
    expect(row!.usage_json).toContain('leaving, key ');
    expect(row!.usage_json).not.toContain(google);
  });

  it('releases the max_concurrent slot of a session cut by the hard cap, and records quota_cut', async () => {
    const script = recording('should_send_text_in_async_session');
    h = await startLiveHarness({ steps: [...script.steps, ...script.steps.slice(2)] }, { env });
    const { key, id } = await h.createKey();
    const model = 'gemini-live-2.5-flash-preview';
    // The token budget is narrowed to the model, so only max_concurrent decides the next admission.
    const policy = { hardCap: true, limits: [{ maxConcurrent: 1 }, { model, tokensPerDay: 1000 }] };
    expect((await putLimits(h, await h.projectOf(id), policy)).status).toBe(200);
    const s = await sdkConnect(h.sdk(key), model);
    s.session.sendClientContent({ turns: 'Hello what should we talk about?' });
    await s.waitFor(3);
    s.session.sendClientContent({ turns: 'Hello what should we talk about?' });
    expect((await s.closed).code).toBe(1008);
    const rows = await h.waitForRows(3);
    expect(rows.filter((r) => r.endpoint === 'live_session')).toEqual([expect.objectContaining({ outcome: 'quota_cut', status: 1008 })]);
    const second = rawConnect(h.liveUrl('v1beta', `?key=${key}`));
    await second.opened;
    const third = await rawConnect(h.liveUrl('v1beta', `?key=${key}`)).refused;
    expect(third.status).toBe(429);
    expect(JSON.parse(third.body).error.message).toMatch(/max_concurrent limit of 1/);
    second.ws.close();
    await second.closed;
  });
});
