import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { cli } from '../support/cli.js';
import { ADMIN_TOKEN, GATEWAY_SECRET, startHarness, type Harness } from '../support/harness.js';

const EVERY_ACTION = [
  'tenant.create', 'tenant.update', 'tenant.disable', 'tenant.enable',
  'project.create', 'project.update', 'project.disable', 'project.enable',
  'key.create', 'key.update', 'key.disable', 'key.enable', 'key.rotate', 'key.revoke', 'key.delete',
  'upstream_key.create', 'upstream_key.update', 'upstream_key.disable', 'upstream_key.enable', 'upstream_key.rotate', 'upstream_key.revoke', 'upstream_key.delete',
  'project.delete', 'tenant.delete',
];

const UPSTREAM_A = 'AIzaAUDIT-upstream-key-one-0000';
const UPSTREAM_B = 'AIzaAUDIT-upstream-key-two-1111';

describe('audit log', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  it('records every admin API mutation with actor, target, before/after and request id; listable at /admin/v1/audit', async () => {
    h = await startHarness({ env: { ADMIN_TOKEN, GATEWAY_SECRET } });
    h.acceptUpstreamKey(UPSTREAM_A);
    h.acceptUpstreamKey(UPSTREAM_B);
    const ok = async (method: string, path: string, body?: unknown) => {
      const r = await h.admin(method, path, body);
      expect(r.status, `${method} ${path}: ${r.text}`).toBeLessThan(300);
      return r.body;
    };
    const t = await ok('POST', '/admin/v1/tenants', { slug: 'acme' });
    await ok('PATCH', `/admin/v1/tenants/${t.id}`, { name: 'Acme Inc' });
    await ok('POST', `/admin/v1/tenants/${t.id}/disable`);
    await ok('POST', `/admin/v1/tenants/${t.id}/enable`);
    const p = await ok('POST', '/admin/v1/projects', { tenantId: t.id, slug: 'web' });
    await ok('PATCH', `/admin/v1/projects/${p.id}`, { labels: { env: 'prod' } });
    await ok('POST', `/admin/v1/projects/${p.id}/disable`);
    await ok('POST', `/admin/v1/projects/${p.id}/enable`);
    const k = (await ok('POST', '/admin/v1/keys', { projectId: p.id })).key;
    await ok('PATCH', `/admin/v1/keys/${k.id}`, { scopes: { models: ['gemini-*'] } });
    await ok('POST', `/admin/v1/keys/${k.id}/disable`);
    await ok('POST', `/admin/v1/keys/${k.id}/enable`);
    const k2 = (await ok('POST', `/admin/v1/keys/${k.id}/rotate`, { overlapSeconds: 0 })).key;
    await ok('POST', `/admin/v1/keys/${k2.id}/revoke`);
    await ok('DELETE', `/admin/v1/keys/${k2.id}`);
    const u = await ok('POST', '/admin/v1/upstream-keys', { projectId: p.id, secret: UPSTREAM_A });
    await ok('PATCH', `/admin/v1/upstream-keys/${u.id}`, { name: 'billing' });
    await ok('POST', `/admin/v1/upstream-keys/${u.id}/disable`);
    await ok('POST', `/admin/v1/upstream-keys/${u.id}/enable`);
    const u2 = await ok('POST', `/admin/v1/upstream-keys/${u.id}/rotate`, { secret: UPSTREAM_B });
    await ok('POST', `/admin/v1/upstream-keys/${u2.id}/revoke`);
    await ok('DELETE', `/admin/v1/upstream-keys/${u2.id}`);
    await ok('DELETE', `/admin/v1/projects/${p.id}`);
    await ok('DELETE', `/admin/v1/tenants/${t.id}`);

    const events = (await ok('GET', '/admin/v1/audit?limit=200')).data.reverse();
    expect(events.map((e: any) => e.action)).toEqual(EVERY_ACTION);
    for (const e of events) expect(e).toMatchObject({ actor: 'admin-token', requestId: expect.any(String), target: { id: expect.any(String) } });
    expect(events[1]).toMatchObject({ target: { type: 'tenant', id: t.id }, before: { name: 'acme' }, after: { name: 'Acme Inc' } });
    expect(events[12]).toMatchObject({ action: 'key.rotate', target: { id: k.id }, after: { replacement: { id: k2.id }, previous: { replacedBy: k2.id } } });

    const onlyKeys = (await ok('GET', `/admin/v1/audit?targetId=${k.id}`)).data.map((e: any) => e.action);
    expect(onlyKeys).toEqual(['key.rotate', 'key.enable', 'key.disable', 'key.update', 'key.create']);
    expect((await ok('GET', '/admin/v1/audit?action=upstream_key.')).data).toHaveLength(7);
    expect((await ok('GET', '/admin/v1/audit?actor=cli')).data).toHaveLength(0);
  });

  it('records CLI mutations with a cli actor, in the same log', async () => {
    h = await startHarness({ env: { ADMIN_TOKEN, GATEWAY_SECRET } });
    const env = { ...h.dbEnv, GATEWAY_SECRET };
    const secretFile = `${h.dbPath}.upstream`;
    const run = async (...argv: string[]) => {
      const r = await cli(env, [...argv, '--json']);
      expect(r.code, `${argv.join(' ')}: ${r.stderr}`).toBe(0);
      return r.json();
    };
    const t = await run('tenants', 'create', 'acme');
    await run('tenants', 'update', 'acme', '--name', 'Acme Inc');
    await run('tenants', 'disable', t.id);
    await run('tenants', 'enable', 'acme');
    const p = await run('projects', 'create', 'web', '--tenant', 'acme');
    await run('projects', 'update', p.id, '--label', 'env=prod');
    await run('projects', 'disable', p.id);
    await run('projects', 'enable', p.id);
    const k = await run('keys', 'create', '--tenant', 'acme', '--project', 'web');
    h.secrets.add(k.key);
    await run('keys', 'update', k.id, '--model', 'gemini-*', '--endpoint', 'generate');
    await run('keys', 'disable', k.id);
    await run('keys', 'enable', k.id);
    const k2 = await run('keys', 'rotate', k.id, '--overlap-seconds', '0');
    h.secrets.add(k2.key);
    await run('keys', 'revoke', k2.id);
    await run('keys', 'delete', k2.id);
    writeFileSync(secretFile, UPSTREAM_A);
    const u = await run('upstream-keys', 'create', '--project', p.id, '--secret-file', secretFile);
    await run('upstream-keys', 'update', u.id, '--name', 'billing');
    await run('upstream-keys', 'disable', u.id);
    await run('upstream-keys', 'enable', u.id);
    writeFileSync(secretFile, UPSTREAM_B);
    const u2 = await run('upstream-keys', 'rotate', u.id, '--secret-file', secretFile);
    await run('upstream-keys', 'revoke', u2.id);
    await run('upstream-keys', 'delete', u2.id);
    await run('projects', 'delete', p.id);
    await run('tenants', 'delete', t.id);

    const events = (await h.admin('GET', '/admin/v1/audit?limit=200')).body.data.reverse();
    expect(events.map((e: any) => e.action)).toEqual(EVERY_ACTION);
    for (const e of events) expect(e.actor).toMatch(/^cli:.+/);
    expect((await h.admin('GET', '/admin/v1/audit?actor=cli')).body.data).toHaveLength(EVERY_ACTION.length);
    const viaCli = await cli(env, ['audit', 'list', '--action', 'key.rotate']);
    expect(viaCli.stdout).toMatch(/cli:\S+\s+key\.rotate\s+key /);
  });
});
