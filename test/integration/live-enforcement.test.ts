import { afterEach, describe, expect, it } from 'vitest';
import { issueKey } from '../support/admin-fixtures.js';
import { ADMIN_TOKEN, GATEWAY_SECRET } from '../support/harness.js';
import { putLimits } from '../support/quota.js';
import { clientFrames, rawConnect, recording, sdkConnect, startLiveHarness, type LiveHarness } from '../support/live.js';
import type { LiveScript } from '../support/fake-live-upstream.js';

const MODEL = 'gemini-live-2.5-flash-preview';
const env = { ADMIN_TOKEN };
let h: LiveHarness | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

/** The recorded text session with its turn played twice: 553 tokens per turn. */
function twoTurns(): LiveScript {
  const { steps } = recording('should_send_text_in_async_session');
  return { steps: [...steps, ...steps.slice(2)] };
}

describe('Live API quotas and scopes', () => {
  it('closes a session with 1008 naming the limit once a turn takes it past its budget (hard cap), then refuses new sessions', async () => {
    h = await startLiveHarness(twoTurns(), { env });
    const { key, id } = await h.createKey();
    expect((await putLimits(h, await h.projectOf(id), { hardCap: true, limits: [{ tokensPerDay: 1000 }] })).status).toBe(200);
    const s = await sdkConnect(h.sdk(key), MODEL);
    s.session.sendClientContent({ turns: 'Hello what should we talk about?' });
    await s.waitFor(3);
    s.session.sendClientContent({ turns: 'Hello what should we talk about?' });
    const closed = await s.closed;
    expect(closed.code).toBe(1008);
    expect(closed.reason).toMatch(/tokens_per_day limit of 1000/);
    expect(Buffer.byteLength(closed.reason)).toBeLessThanOrEqual(123);
    // The turn that crossed the budget was delivered, then the session ended.
    expect(s.messages.filter((m) => m.usageMetadata)).toHaveLength(2);
    const rows = await h.waitForRows(3);
    expect(rows.filter((r) => r.endpoint === 'live').map((r) => r.total_tokens)).toEqual([553, 553]);
    expect(rows.find((r) => r.endpoint === 'live_session')).toMatchObject({ outcome: 'quota_cut', status: 1008 });
    const metrics = await h.admin('GET', '/metrics');
    expect(metrics.text).toMatch(/requests_total\{tenant="acme",project="web",endpoint="live_session",status="1008"\} 1/);
    expect(metrics.text).toMatch(/tokens_total\{tenant="acme",project="web",model="gemini-live-2.5-flash-preview",kind="prompt"\} 1030/);
    const next = rawConnect(h.liveUrl('v1beta', `?key=${key}`));
    const refused = await next.refused;
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.body).error).toMatchObject({ status: 'RESOURCE_EXHAUSTED', message: expect.stringMatching(/tokens_per_day/) });
  });

  it("labels a session's Prometheus status by close code, folding the codes a client picks (4000-4999) into one value", async () => {
    const script = recording('should_send_text_in_async_session');
    h = await startLiveHarness(script, { env });
    const { key } = await h.createKey();
    for (const code of [4321, 4999, 1000]) {
      const c = rawConnect(h.liveUrl('v1beta', `?key=${key}`));
      await c.opened;
      c.ws.send(clientFrames(script)[0]!, { binary: false });
      await c.waitFrames(1);
      c.ws.close(code, 'bye');
      await c.closed;
    }
    const rows = (await h.waitForRows(3)).filter((r) => r.endpoint === 'live_session');
    // The row keeps the code as sent; only the metric label is folded.
    expect(rows.map((r) => r.status).sort()).toEqual([1000, 4321, 4999]);
    const metrics = (await h.admin('GET', '/metrics')).text;
    expect(metrics).toMatch(/requests_total\{tenant="acme",project="web",endpoint="live_session",status="4xxx"\} 2/);
    expect(metrics).toMatch(/requests_total\{tenant="acme",project="web",endpoint="live_session",status="1000"\} 1/);
    expect(metrics).not.toMatch(/status="4321"/);
  });

  it('counts a session against max_concurrent for as long as it lives: the 51st is refused with 429', async () => {
    h = await startLiveHarness(recording('should_send_text_in_async_session'), { env });
    const { key, id } = await h.createKey();
    expect((await putLimits(h, await h.projectOf(id), { limits: [{ maxConcurrent: 50 }] })).status).toBe(200);
    const open = Array.from({ length: 50 }, () => rawConnect(h!.liveUrl('v1beta', `?key=${key}`)));
    await Promise.all(open.map((c) => c.opened));
    const extra = rawConnect(h.liveUrl('v1beta', `?key=${key}`));
    const refused = await extra.refused;
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.body).error.message).toMatch(/max_concurrent limit of 50/);
    open[0]!.ws.close();
    await open[0]!.closed;
    await h.waitForRows(1);
    const again = rawConnect(h.liveUrl('v1beta', `?key=${key}`));
    await again.opened;
    for (const c of [...open.slice(1), again]) c.ws.close();
    await Promise.all([...open.slice(1), again].map((c) => c.closed));
  });

  it("closes with 1008 when the setup names a model outside the key's scopes, and forwards nothing", async () => {
    const script = recording('should_send_text_in_async_session');
    h = await startLiveHarness(script, { env });
    const { secret } = await issueKey(h, { key: { scopes: { models: ['gemini-2.5-*'] } } });
    h.secrets.add(secret);
    const c = rawConnect(h.liveUrl('v1beta', `?key=${secret}`));
    await c.opened;
    c.ws.send(clientFrames(script)[0]!, { binary: false });
    const closed = await c.closed;
    expect(closed.code).toBe(1008);
    expect(closed.reason).toMatch(/gemini-live-2\.5-flash-preview/);
    expect(h.live.sessions).toHaveLength(0);
    const rows = await h.waitForRows(1);
    expect(rows[0]).toMatchObject({ endpoint: 'live_session', outcome: 'gateway_error', status: 1008 });
  });

  it('refuses the upgrade with 403 for a key scoped to other endpoint families', async () => {
    h = await startLiveHarness(recording('should_send_text_in_async_session'), { env });
    const { secret } = await issueKey(h, { key: { scopes: { endpoints: ['generate'] } } });
    h.secrets.add(secret);
    const refused = await rawConnect(h.liveUrl('v1beta'), { 'x-goog-api-key': secret }).refused;
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body).error.status).toBe('PERMISSION_DENIED');
  });

  it("sends a bring-your-own-key project's own upstream key", async () => {
    h = await startLiveHarness(recording('should_send_text_in_async_session'), { env: { ...env, GATEWAY_SECRET } });
    const { key, id } = await h.createKey();
    const own = 'test-FAKE-project-own-upstream-key-55555';
    h.acceptUpstreamKey(own);
    const created = await h.admin('POST', '/admin/v1/upstream-keys', { projectId: await h.projectOf(id), secret: own });
    expect(created.status, created.text).toBe(201);
    const s = await sdkConnect(h.sdk(key), MODEL);
    s.session.close();
    expect(h.live.sessions[0]!.headers['x-goog-api-key']).toBe(own);
    const rows = await h.waitForRows(1);
    expect(rows[0]!.upstream_key_id).toBe(created.body.id);
  });
});
