import { ApiError, GoogleGenAI } from '@google/genai';
import { issueKey } from '../support/admin-fixtures.js';
import { ADMIN_TOKEN } from '../support/harness.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { putLimits, testClock } from '../support/quota.js';
import { clientFrames, rawConnect, recording, sdkConnect, startLiveHarness, type LiveHarness } from '../support/live.js';
import type { LiveScript } from '../support/fake-live-upstream.js';

const MODEL = 'gemini-live-2.5-flash-preview';
let h: LiveHarness | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
  vi.restoreAllMocks();
});

/** Clients of the gateway with the SDK: v1alpha, as the SDK requires for ephemeral tokens. */
const client = (h: LiveHarness, apiKey: string) => new GoogleGenAI({ apiKey, httpOptions: { baseUrl: h.publicUrl, apiVersion: 'v1alpha' } });

async function mint(h: LiveHarness, key: string, config: Record<string, unknown>): Promise<string> {
  const token = await client(h, key).authTokens.create({ config });
  expect(token.name).toMatch(/^auth_tokens\//);
  h.secrets.add(token.name!);
  return token.name!;
}

const constrainedUrl = (h: LiveHarness, token: string, base = h.url) =>
  `${base.replace(/^http/, 'ws')}/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContentConstrained?access_token=${token}`;

/** The recorded text session, its last frame carrying usage but no turnComplete: the turn is still open when the session ends. */
function openTurn(): LiveScript {
  const script = recording('should_send_text_in_async_session');
  const usageOnly = Buffer.from(script.steps.at(-1)!.data.toString().replace('"turnComplete": true', '"generationComplete": true'));
  return { steps: [...script.steps.slice(0, -1), { dir: '<', data: usageOnly }] };
}

describe('gateway-issued ephemeral tokens', () => {
  it('are created with authTokens.create through the gateway and open a metered session with live.connect, model locked', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {}); // the SDK warns that ephemeral tokens are experimental
    h = await startLiveHarness(recording('should_send_text_in_async_session'));
    const { key, id } = await h.createKey();
    const token = await mint(h, key, { uses: 1, liveConnectConstraints: { model: MODEL, config: { responseModalities: ['TEXT'] } }, lockAdditionalFields: [] });
    // Never forwarded: no Google token is minted with the gateway's upstream key.
    expect(h.fake.requests.filter((r) => r.url.includes('auth_tokens'))).toHaveLength(0);

    // The client asks for another model; the token's constraint wins, as at Google.
    const s = await sdkConnect(client(h, token), 'gemini-some-other-model');
    s.session.sendClientContent({ turns: 'Hello what should we talk about?' });
    await s.waitFor(3);
    s.session.close();
    const up = h.live.sessions[0]!;
    expect(up.url).toBe('/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContentConstrained');
    expect(JSON.parse(up.received[0]!.data.toString()).setup).toMatchObject({ model: `models/${MODEL}`, generationConfig: { responseModalities: ['TEXT'] } });

    const rows = await h.waitForRows(3);
    expect(rows.map((r) => r.endpoint)).toEqual(['auth_tokens', 'live', 'live_session']);
    for (const r of rows) expect(r).toMatchObject({ key_id: id, project_id: await h.projectOf(id) });
    expect(rows[1]).toMatchObject({ model: MODEL, total_tokens: 553 });
    const audit = await h.query("SELECT action, actor FROM audit_events WHERE target_type = 'auth_token' ORDER BY created_at");
    expect(audit).toEqual([{ action: 'auth_token.create', actor: `key:${id}` }, { action: 'auth_token.use', actor: `key:${id}` }]);
    // Stored hashed: the database file holds no token.
    expect(await h.scalar('SELECT count(*) FROM live_tokens WHERE hash = ?', [token])).toBe(0);

    // Its one use is spent: the next session is refused before the upgrade.
    const again = await rawConnect(constrainedUrl(h, token)).refused;
    expect(again.status).toBe(401);
    const auth = await rawConnect(constrainedUrl(h, '').replace(/\?.*$/, ''), { authorization: `Token ${token}` }).refused;
    expect(auth.status).toBe(401);
  });

  it('are refused once expired for new sessions, and accepted as Authorization: Token until then', async () => {
    const clock = testClock(new Date().toISOString(), true);
    h = await startLiveHarness(recording('should_send_text_in_async_session'), { clock });
    const { key } = await h.createKey();
    const token = await mint(h, key, { uses: 0, newSessionExpireTime: new Date(clock.now() + 60_000).toISOString() });
    const ok = rawConnect(constrainedUrl(h, '').replace(/\?.*$/, ''), { authorization: `Token ${token}` });
    await ok.opened;
    ok.ws.close();
    await ok.closed;
    clock.advance(61_000);
    const late = await rawConnect(constrainedUrl(h, token)).refused;
    expect(late.status).toBe(401);
    expect(JSON.parse(late.body).error.message).toMatch(/expired/);
  });

  it('do not work at Google: the fake upstream refuses one presented directly', async () => {
    h = await startLiveHarness(recording('should_send_text_in_async_session'));
    const { key } = await h.createKey();
    const token = await mint(h, key, { uses: 0 });
    const direct = await rawConnect(constrainedUrl(h, token, h.live.url)).refused;
    expect(direct.status).toBe(401);
    expect(h.live.refused).toEqual([401]);
    // The fake rightly flags a token reaching it; here the test sent it on purpose, not the gateway.
    expect(h.live.violations).toHaveLength(1);
    h.live.violations.length = 0;
  });

  it('refuse a tenant key on the constrained path and a token on the key path', async () => {
    h = await startLiveHarness(recording('should_send_text_in_async_session'));
    const { key } = await h.createKey();
    const token = await mint(h, key, { uses: 0 });
    expect((await rawConnect(constrainedUrl(h, key)).refused).status).toBe(401);
    expect((await rawConnect(h.liveUrl('v1alpha', `?key=${token}`)).refused).status).toBe(401);
  });
});

describe('ephemeral token races', () => {
  it('with uses: 1, admit only one of two upgrades racing each other, and never write the token down', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    h = await startLiveHarness(recording('should_send_text_in_async_session'));
    const { key } = await h.createKey();
    const token = await mint(h, key, { uses: 1 });
    const [a, b] = [rawConnect(constrainedUrl(h, token)), rawConnect(constrainedUrl(h, token))];
    const outcome = (c: ReturnType<typeof rawConnect>) => Promise.race([c.opened.then(() => 'open' as const), c.refused.then((r) => r.status)]);
    const results = await Promise.all([outcome(a), outcome(b)]);
    expect([...results].sort()).toEqual([401, 'open']);
    const winner = results[0] === 'open' ? a : b;
    winner.ws.close(1000, 'bye');
    const closed = await winner.closed;
    expect(closed.reason).not.toContain(token);
    // The session that ran closed normally, once. On Postgres both upgrades pass the token lookup and the
    // loser is refused at the take, after authentication, so it leaves a 401 row too; SQLite refuses it at
    // the lookup, before any row. Rows come back in no set order either way.
    const sessionsOf = async () => (await h!.waitForRows(2)).filter((r) => r.endpoint === 'live_session');
    await vi.waitFor(async () => expect((await sessionsOf()).some((r) => r.status === 1000)).toBe(true), { timeout: 5000 });
    const sessions = await sessionsOf();
    expect(sessions.filter((r) => r.status === 1000)).toHaveLength(1);
    for (const r of sessions) if (r.status !== 1000) expect(r).toMatchObject({ status: 401, outcome: 'gateway_error' });
    const rows = await h.waitForRows(2);
    expect(await h.scalar('SELECT count(*) FROM live_tokens WHERE uses_left = 0')).toBe(1);
    for (const r of rows) expect(JSON.stringify(r)).not.toContain(token.slice('auth_tokens/'.length));
    for (const line of h.logs) expect(line).not.toContain(token.slice('auth_tokens/'.length));
  });
});

describe('ephemeral token limits', () => {
  it('closes a running session at its expireTime with 1008, records token_expired with the tokens so far, and frees its slot', async () => {
    const script = openTurn();
    h = await startLiveHarness(script, { env: { ADMIN_TOKEN } });
    const { key, id } = await h.createKey();
    expect((await putLimits(h, await h.projectOf(id), { limits: [{ maxConcurrent: 1 }] })).status).toBe(200);
    const token = await mint(h, key, { uses: 1, expireTime: new Date(Date.now() + 2500).toISOString() });
    const c = rawConnect(constrainedUrl(h, token));
    await c.opened;
    for (const f of clientFrames(script)) c.ws.send(f, { binary: false });
    await c.waitFrames(3);
    // The session holds the project's one slot while it runs.
    expect((await rawConnect(h.liveUrl('v1beta', `?key=${key}`)).refused).status).toBe(429);
    expect(await c.closed).toEqual({ code: 1008, reason: 'Ephemeral token expired.' });

    const rows = await h.waitForRows(4);
    expect(rows.filter((r) => r.endpoint === 'live').map((r) => [r.outcome, r.total_tokens])).toEqual([['token_expired', 553]]);
    const sessions = rows.filter((r) => r.endpoint === 'live_session' && r.status !== 429);
    expect(sessions).toEqual([expect.objectContaining({ status: 1008, outcome: 'token_expired', total_tokens: 0 })]);
    expect(JSON.parse(sessions[0]!.usage_json!)).toMatchObject({ turns: 0, closeCode: 1008, closeReason: 'Ephemeral token expired.', closedBy: 'gateway', authToken: expect.stringMatching(/^tok_/) });
    // Not an error: the usage API counts it as a request, neither an error nor an abort.
    const usage = await h.admin('GET', `/admin/v1/usage?groupBy=outcome&endpoint=live_session&outcome=token_expired`);
    expect(usage.body.groups).toEqual([expect.objectContaining({ outcome: 'token_expired', requests: 1, errors: 0, aborted: 0 })]);

    // The slot is free again.
    const next = rawConnect(h.liveUrl('v1beta', `?key=${key}`));
    await next.opened;
    next.ws.close();
    await next.closed;
    expect(h.gateway.deps.lifecycle.inflight).toBe(0);
  });

  it('records one session row when the token expires just as shutdown closes the session', async () => {
    const script = openTurn();
    h = await startLiveHarness(script, { env: { USAGE_FLUSH_INTERVAL_MS: '60000' } });
    const { key } = await h.createKey();
    const expiresAt = Date.now() + 2500;
    const token = await mint(h, key, { uses: 1, expireTime: new Date(expiresAt).toISOString() });
    const c = rawConnect(constrainedUrl(h, token));
    await c.opened;
    for (const f of clientFrames(script)) c.ws.send(f, { binary: false });
    await c.waitFrames(3);
    // The grace period ends at expireTime: shutdown's close (1001) and the token's (1008) race; either may win.
    const stopped = h.gateway.shutdown(Math.max(0, expiresAt - Date.now()));
    const closed = await c.closed;
    await stopped;
    const rows = await h.query<{ endpoint: string; outcome: string; status: number; total_tokens: number }>('SELECT endpoint, outcome, status, total_tokens FROM usage_events ORDER BY id');
    const won = closed.code === 1008 ? 'token_expired' : 'client_aborted';
    expect([1001, 1008]).toContain(closed.code);
    expect(rows.filter((r) => r.endpoint !== 'auth_tokens')).toEqual([
      { endpoint: 'live', outcome: won, status: 101, total_tokens: 553 },
      { endpoint: 'live_session', outcome: won, status: closed.code, total_tokens: 0 },
    ]);
  });

  it("are refused (403) when the key's scopes do not allow the constrained model or the live family", async () => {
    h = await startLiveHarness(recording('should_send_text_in_async_session'), { env: { ADMIN_TOKEN } });
    const { secret } = await issueKey(h, { key: { scopes: { models: ['gemini-2.5-*'] } } });
    h.secrets.add(secret);
    const refused = await client(h, secret).authTokens.create({ config: { liveConnectConstraints: { model: MODEL } } }).catch((e: ApiError) => e);
    expect((refused as ApiError).status).toBe(403);
    const other = await issueKey(h, { project: 'api', key: { scopes: { endpoints: ['generate'] } } });
    h.secrets.add(other.secret);
    const denied = await client(h, other.secret).authTokens.create({ config: { uses: 1 } }).catch((e: ApiError) => e);
    expect((denied as ApiError).status).toBe(403);
    const rows = await h.waitForRows(2);
    expect(rows.map((r) => [r.endpoint, r.status, r.outcome])).toEqual([['auth_tokens', 403, 'gateway_error'], ['auth_tokens', 403, 'gateway_error']]);
  });

  it('refuse a uses count past what any backend stores with 400 INVALID_ARGUMENT, never a 500', async () => {
    h = await startLiveHarness(recording('should_send_text_in_async_session'));
    const { key } = await h.createKey();
    for (const uses of [2 ** 31, Number.MAX_SAFE_INTEGER]) {
      const res = await fetch(`${h.url}/v1alpha/auth_tokens`, {
        method: 'POST', headers: { 'x-goog-api-key': key, 'content-type': 'application/json' }, body: JSON.stringify({ uses }),
      });
      const body = await res.text();
      expect({ uses, status: res.status }).toEqual({ uses, status: 400 });
      expect(JSON.parse(body).error).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT', message: expect.stringContaining('uses') });
    }
    expect((await mint(h, key, { uses: 2 ** 31 - 1 })).length).toBeGreaterThan(0);
  });
});
