import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { generate, issueKey } from '../support/admin-fixtures.js';
import { cli } from '../support/cli.js';
import { ADMIN_TOKEN, GATEWAY_SECRET, startHarness, UPSTREAM_KEY, type Harness } from '../support/harness.js';

const OWN_KEY = 'test-OWN-project-key-for-byok-tests-7QxZ';
const NEXT_KEY = 'test-NEXT-project-key-after-rotation-9KwY';

/** Every byte SQLite holds for this database, WAL included; on Postgres, every row of every table. */
async function databaseBytes(h: Harness): Promise<string> {
  if (h.backend === 'postgres') {
    const tables = await h.query<{ tablename: string }>("SELECT tablename FROM pg_tables WHERE schemaname = 'public'");
    let all = '';
    for (const { tablename } of tables) all += JSON.stringify(await h.query(`SELECT * FROM "${tablename}"`));
    return all;
  }
  h.db.$client.pragma('wal_checkpoint(TRUNCATE)');
  return readFileSync(h.dbPath).toString('latin1');
}

describe('bring your own upstream key', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  it("sends the project's own key upstream, records its id, and never stores or shows it in the clear", async () => {
    h = await startHarness({ env: { ADMIN_TOKEN, GATEWAY_SECRET } });
    h.acceptUpstreamKey(OWN_KEY);
    h.acceptUpstreamKey(NEXT_KEY);
    const own = await issueKey(h, { project: 'own' });
    const shared = await issueKey(h, { project: 'shared' });

    const stored = await h.admin('POST', '/admin/v1/upstream-keys', { projectId: own.projectId, secret: OWN_KEY, name: 'team billing' });
    expect(stored.status, stored.text).toBe(201);
    expect(stored.body).toMatchObject({ projectId: own.projectId, status: 'active', inUse: true, fingerprint: { last4: '7QxZ', sha256: expect.stringMatching(/^[0-9a-f]{16}$/) } });
    const upk = stored.body.id as string;

    const viaSdk = await h.sdk(own.secret).models.generateContent({ model: 'google-text', contents: 'hi' });
    expect(viaSdk.candidates?.length).toBeGreaterThan(0);
    expect(h.fake.requests.at(-1)!.headers['x-goog-api-key']).toBe(OWN_KEY);
    expect((await generate(h, shared.secret)).status).toBe(200);
    expect(h.fake.requests.at(-1)!.headers['x-goog-api-key']).toBe(UPSTREAM_KEY);
    const rows = await h.waitForRows(2);
    // The default key is the env pool's, recorded by its fingerprint id, never by value.
    expect(rows.map((r: any) => [r.project_id, r.upstream_key_id])).toEqual([[own.projectId, upk], [shared.projectId, expect.stringMatching(/^env:[0-9a-f]{12}$/)]]);

    const ciphertext = (await h.scalar('SELECT ciphertext FROM upstream_keys WHERE id = ?', [upk])) as string;
    expect(ciphertext).toMatch(/^v1\./);
    expect(ciphertext).not.toContain(OWN_KEY);
    expect((await databaseBytes(h))).not.toContain(OWN_KEY);

    // Rotation stores the new key under a new id; the next request uses it and records it.
    const rotated = await h.admin('POST', `/admin/v1/upstream-keys/${upk}/rotate`, { secret: NEXT_KEY });
    expect(rotated.body).toMatchObject({ inUse: true, fingerprint: { last4: '9KwY' } });
    expect((await h.admin('GET', `/admin/v1/upstream-keys/${upk}`)).body).toMatchObject({ status: 'revoked', inUse: false, replacedBy: rotated.body.id });
    expect((await generate(h, own.secret)).status).toBe(200);
    expect(h.fake.requests.at(-1)!.headers['x-goog-api-key']).toBe(NEXT_KEY);
    expect((await h.waitForRows(3)).at(-1)!).toMatchObject({ upstream_key_id: rotated.body.id });

    const texts = [stored.text, rotated.text];
    for (const path of [`/admin/v1/upstream-keys/${upk}`, '/admin/v1/upstream-keys?status=revoked', '/admin/v1/upstream-keys', `/admin/v1/projects/${own.projectId}`, '/admin/v1/audit?limit=200']) {
      texts.push((await h.admin('GET', path)).text);
    }
    for (const t of texts) {
      expect(t).not.toContain(OWN_KEY);
      expect(t).not.toContain(NEXT_KEY);
    }
    expect((await databaseBytes(h))).not.toContain(NEXT_KEY);
  });

  it('never prints an upstream key from the CLI', async () => {
    h = await startHarness({ env: { GATEWAY_SECRET } });
    const env = { ...h.dbEnv, GATEWAY_SECRET };
    const file = `${h.dbPath}.secret`;
    writeFileSync(file, `${OWN_KEY}\n`);
    h.acceptUpstreamKey(OWN_KEY);
    const key = (await cli(env, ['keys', 'create', '--tenant', 'acme', '--project', 'web', '--json'])).json();
    const outputs = [await cli(env, ['upstream-keys', 'create', '--tenant', 'acme', '--project', 'web', '--secret-file', file])];
    outputs.push(await cli(env, ['upstream-keys', 'list']), await cli(env, ['upstream-keys', 'list', '--json']));
    const id = outputs[2]!.json().data[0].id;
    outputs.push(await cli(env, ['upstream-keys', 'get', id]), await cli(env, ['upstream-keys', 'get', id, '--json']), await cli(env, ['audit', 'list', '--json']));
    for (const o of outputs) {
      expect(o.code, o.stderr).toBe(0);
      expect(o.stdout + o.stderr).not.toContain(OWN_KEY);
    }
    expect(outputs[1]!.stdout).toContain('…7QxZ');
    // The CLI wrote through its own connection; the gateway picks the key up on the next request.
    h.secrets.add(key.key);
    expect((await generate(h, key.key)).status).toBe(200);
    expect(h.fake.requests.at(-1)!.headers['x-goog-api-key']).toBe(OWN_KEY);
  });

  it('refuses to store an upstream key without GATEWAY_SECRET, saying how to enable it', async () => {
    h = await startHarness({ env: { ADMIN_TOKEN } });
    const { projectId } = await issueKey(h);
    h.acceptUpstreamKey(OWN_KEY);
    const r = await h.admin('POST', '/admin/v1/upstream-keys', { projectId, secret: OWN_KEY });
    expect(r.status).toBe(422);
    expect(r.body.error.message).toMatch(/GATEWAY_SECRET.*at least 32 characters.*openssl rand/);
    expect(await h.scalar('SELECT count(*) FROM upstream_keys')).toBe(0);
    const viaCli = await cli({ ...h.dbEnv }, ['upstream-keys', 'create', '--project', projectId, '--secret-file', '/dev/null']);
    expect(viaCli.code).toBe(1);
  });

  it('answers 503 and forwards nothing when the gateway cannot decrypt the stored key (GATEWAY_SECRET unset or different)', async () => {
    const envs: Array<Record<string, string>> = [{ ADMIN_TOKEN }, { ADMIN_TOKEN, GATEWAY_SECRET: `${GATEWAY_SECRET}-other` }];
    for (const gatewayEnv of envs) {
      h = await startHarness({ env: gatewayEnv });
      h.acceptUpstreamKey(OWN_KEY);
      const { projectId, secret } = await issueKey(h);
      const file = `${h.dbPath}.secret`;
      writeFileSync(file, OWN_KEY);
      // Stored by the CLI, which has the right GATEWAY_SECRET; the running gateway does not.
      expect((await cli({ ...h.dbEnv, GATEWAY_SECRET }, ['upstream-keys', 'create', '--project', projectId, '--secret-file', file])).code).toBe(0);
      const r = await generate(h, secret);
      expect(r.status).toBe(503);
      expect(r.body.error.message).toMatch(/upstream key cannot be/);
      expect(h.fake.requests).toHaveLength(0);
      expect(h.logs.some((l) => l.includes('project upstream key'))).toBe(true);
      await h.close();
    }
  });

  it("refuses a project's requests while its own key is disabled (no silent fallback), uses the default once it is deleted", async () => {
    h = await startHarness({ env: { ADMIN_TOKEN, GATEWAY_SECRET } });
    h.acceptUpstreamKey(OWN_KEY);
    const own = await issueKey(h);
    const upk = (await h.admin('POST', '/admin/v1/upstream-keys', { projectId: own.projectId, secret: OWN_KEY })).body.id;
    await h.admin('POST', `/admin/v1/upstream-keys/${upk}/disable`);
    const refused = await generate(h, own.secret);
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toMatch(/upstream key is disabled/);
    expect(h.fake.requests).toHaveLength(0);
    await h.admin('POST', `/admin/v1/upstream-keys/${upk}/enable`);
    expect((await generate(h, own.secret)).status).toBe(200);
    expect(h.fake.requests.at(-1)!.headers['x-goog-api-key']).toBe(OWN_KEY);
    expect((await h.admin('DELETE', `/admin/v1/upstream-keys/${upk}`)).body).toMatchObject({ status: 'deleted', inUse: false });
    expect((await generate(h, own.secret)).status).toBe(200);
    expect(h.fake.requests.at(-1)!.headers['x-goog-api-key']).toBe(UPSTREAM_KEY);
  });
});
