import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyFor } from '../../src/accounts/issue-key.js';
import { systemClock } from '../../src/clock.js';
import { parseConfig } from '../../src/config.js';
import { openStore, type Store } from '../../src/db/store.js';
import { query } from '../../src/db/dialect.js';
import { startChildGateway, type ChildGateway } from '../support/child-gateway.js';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { ADMIN_TOKEN, UPSTREAM_KEY } from '../support/harness.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from '../support/postgres.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const LIVE_PATH = '/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent';

/**
 * Sends a Live upgrade request and resets the connection (TCP RST) a few milliseconds later, while
 * the gateway is still awaiting the database on its behalf (Postgres: a real round trip).
 */
async function upgradeThenReset(url: string, path: string, headers: string, afterMs: number): Promise<void> {
  const u = new URL(url);
  const s = connect(Number(u.port), u.hostname);
  const connected = await new Promise<boolean>((r) => {
    s.once('connect', () => r(true));
    s.once('error', () => r(false));
  });
  s.on('error', () => {});
  if (!connected) return;
  s.write(`GET ${path} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${headers}\r\n`);
  await sleep(afterMs);
  s.resetAndDestroy();
}

/** A real gateway process on Postgres, where a Live upgrade awaits the database before it is admitted. */
describe.runIf(postgresAvailable)('Live upgrades reset by the client mid-admission', () => {
  let db: TestDatabase;
  let own: Store;
  let fake: FakeUpstream;
  let key: string;
  let keyId: string;
  let child: ChildGateway;

  beforeAll(async () => {
    db = await createTestDatabase();
    own = await openStore(parseConfig({ DATABASE_URL: db.url, GEMINI_API_KEY: UPSTREAM_KEY }));
    ({ key, id: keyId } = await createKeyFor(own.db, systemClock, { tenant: 'acme', project: 'web' }));
    fake = await startFakeUpstream({ upstreamKey: UPSTREAM_KEY, forbiddenSecrets: () => [key, ADMIN_TOKEN] });
    child = await startChildGateway({ DATABASE_URL: db.url, UPSTREAM_BASE_URL: fake.url, GEMINI_API_KEY: UPSTREAM_KEY, ADMIN_TOKEN });
  }, 60_000);
  afterAll(async () => {
    if (child && child.process.exitCode === null && child.process.signalCode === null) {
      child.process.kill('SIGTERM');
      await child.exited;
    }
    await fake?.close();
    await own?.close();
    await db?.drop();
  });

  it('a client resetting its connection while its key is being looked up does not bring the gateway down', async () => {
    // Unknown keys: each is a database lookup, during which the socket has no owner yet.
    for (let i = 0; i < 20; i++) await upgradeThenReset(child.url, LIVE_PATH, `x-goog-api-key: ggw_${'A'.repeat(40)}${i}\r\n`, i % 5);
    await sleep(500);
    expect(child.process.exitCode).toBeNull();
    expect(child.output()).not.toContain('ECONNRESET');
    expect((await fetch(`${child.url}/healthz`)).status).toBe(200);
  });

  it('a session admitted while its client was already gone releases its max_concurrent slot and lets shutdown finish', async () => {
    const limits = await fetch(`${child.url}/admin/v1/projects/${await projectIdOf(own, keyId)}/limits`, {
      method: 'PUT', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ limits: [{ maxConcurrent: 100 }] }),
    });
    expect(limits.status).toBe(200);
    // Ephemeral tokens: the session is admitted, then the token's use is written (a round trip) before the handshake.
    for (let i = 0; i < 20; i++) {
      const minted = await fetch(`${child.url}/v1alpha/auth_tokens`, { method: 'POST', headers: { 'x-goog-api-key': key, 'content-type': 'application/json' }, body: JSON.stringify({ uses: 1 }) });
      const { name } = (await minted.json()) as { name: string };
      await upgradeThenReset(child.url, `${LIVE_PATH.replace('v1beta', 'v1alpha')}Constrained?access_token=${name}`, '', i % 5);
    }
    await sleep(500);
    const quota = (await (await fetch(`${child.url}/gateway/v1/quota`, { headers: { 'x-goog-api-key': key } })).json()) as { inFlight: { requests: number } };
    expect(quota.inFlight.requests).toBe(0);
    // Nothing is in flight, so a graceful shutdown ends at once instead of waiting out its grace period.
    const stopping = Date.now();
    child.process.kill('SIGTERM');
    expect((await child.exited).code).toBe(0);
    expect(Date.now() - stopping).toBeLessThan(5000);
  });
});

async function projectIdOf(store: Store, keyId: string): Promise<string> {
  const rows = await query<{ project_id: string }>(store.db, 'SELECT project_id FROM api_keys WHERE id = ?', [keyId]);
  return rows[0]!.project_id;
}
