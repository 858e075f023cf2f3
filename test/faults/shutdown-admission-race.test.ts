// Admission awaits (a key lookup on the database, a token use) can straddle the start of a drain:
// shutdown may already have found nothing in flight and be closing the listener when such a request
// or Live session is let in. It must be refused cleanly, not cut after a second or, for a Live
// session (whose socket the listener's close waits for), keep the process alive past its grace.
import { afterEach, describe, expect, it } from 'vitest';
import { createKeyFor } from '../../src/accounts/issue-key.js';
import { systemClock } from '../../src/clock.js';
import { openStore, type Store } from '../../src/db/store.js';
import { parseConfig } from '../../src/config.js';
import { startChildGateway, type ChildGateway } from '../support/child-gateway.js';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { startFakeLive, loadLiveRecording, type FakeLive } from '../support/fake-live-upstream.js';
import { UPSTREAM_KEY } from '../support/harness.js';
import { rawConnect } from '../support/live.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from '../support/postgres.js';
import { rawRequest } from '../support/raw-http.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe.runIf(postgresAvailable)('SIGTERM while a request is being admitted', () => {
  const open: Array<{ close(): Promise<void> }> = [];
  let child: ChildGateway | undefined;

  afterEach(async () => {
    if (child && child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
    for (const o of open.splice(0).reverse()) await o.close();
  });

  /** A gateway on Postgres through a relay; its key is not cached yet, so the first lookup needs the database. */
  async function setup(env: Record<string, string>, upstream: { fake?: FakeUpstream; live?: FakeLive }) {
    const db: TestDatabase = await createTestDatabase();
    open.push({ close: () => db.drop() });
    const own: Store = await openStore(parseConfig({ DATABASE_URL: db.url, GEMINI_API_KEY: UPSTREAM_KEY }));
    open.push(own);
    const { key } = await createKeyFor(own.db, systemClock, { tenant: 'acme', project: 'web' });
    const target = new URL(db.url);
    const proxy: TcpProxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    open.push(proxy);
    child = await startChildGateway({
      DATABASE_URL: proxy.via(db.url), GEMINI_API_KEY: UPSTREAM_KEY, SHUTDOWN_GRACE_MS: '1000',
      UPSTREAM_BASE_URL: upstream.fake?.url ?? 'http://127.0.0.1:9', LIVE_UPSTREAM_BASE_URL: upstream.live?.url ?? 'http://127.0.0.1:9', ...env,
    });
    return { key, proxy, child };
  }

  /** Holds the key lookup on a silent network across SIGTERM, then lets it through once draining has begun. */
  async function straddle(proxy: TcpProxy, gw: ChildGateway, start: () => void) {
    proxy.freeze();
    start();
    await sleep(300);
    gw.process.kill('SIGTERM');
    await gw.waitForLog((l) => l.msg === 'shutting down: draining in-flight requests');
    await sleep(100);
    proxy.thaw();
  }

  const exitWithin = (gw: ChildGateway, ms: number) => Promise.race([gw.exited, sleep(ms).then(() => 'still running')]);

  it('a Live session is refused with 503 and the process exits 0 within its grace period', async () => {
    const live = await startFakeLive({ upstreamKeys: () => [UPSTREAM_KEY], forbidden: () => [], script: { steps: loadLiveRecording('should_send_text_in_async_session') } });
    open.push(live);
    const { key, proxy, child: gw } = await setup({}, { live });
    let c!: ReturnType<typeof rawConnect>;
    await straddle(proxy, gw, () => {
      c = rawConnect(`${gw.url.replace(/^http/, 'ws')}/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent?key=${key}`);
    });
    const refused = await Promise.race([c.refused, c.opened.then(() => null)]);
    expect(refused?.status).toBe(503);
    expect(JSON.parse(refused!.body).error).toMatchObject({ code: 503, status: 'UNAVAILABLE' });
    expect(await exitWithin(gw, 8000)).toEqual({ code: 0, signal: null });
    expect(live.sessions).toHaveLength(0);
  }, 40_000);

  it('a stream is refused with Google\'s 503 instead of being cut a second into the drain', async () => {
    const fake = await startFakeUpstream({ upstreamKey: UPSTREAM_KEY, beforeFrame: (i) => (i === 1 ? sleep(3000) : undefined) });
    open.push(fake);
    const { key, proxy, child: gw } = await setup({}, { fake });
    let res!: ReturnType<typeof rawRequest>;
    await straddle(proxy, gw, () => {
      res = rawRequest(`${gw.url}/v1beta/models/google-text:streamGenerateContent?alt=sse`, { headers: { 'x-goog-api-key': key, 'content-type': 'application/json' }, body: '{}' });
    });
    const r = await res;
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body.toString()).error).toMatchObject({ code: 503, status: 'UNAVAILABLE' });
    expect(await exitWithin(gw, 8000)).toEqual({ code: 0, signal: null });
    expect(fake.requests).toHaveLength(0);
  }, 40_000);
});
