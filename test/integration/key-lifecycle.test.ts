import { ApiError } from '@google/genai';
import { afterEach, describe, expect, it } from 'vitest';
import { generate, issueKey, manualClock } from '../support/admin-fixtures.js';
import { ADMIN_TOKEN, startHarness, type Harness } from '../support/harness.js';

const HOUR = 3600_000;

describe('key lifecycle over the admin API, enforced on the next request', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  it('create → use with @google/genai → rotate (both work during the overlap, the old one expires after) → revoke', async () => {
    const clock = manualClock();
    h = await startHarness({ env: { ADMIN_TOKEN }, clock });
    const { keyId, secret: oldSecret } = await issueKey(h);
    const ask = (secret: string) => h.sdk(secret).models.generateContent({ model: 'google-text', contents: 'hi' }).then(() => 200, (e: ApiError) => e);

    expect(await ask(oldSecret)).toBe(200);
    const [row] = await h.waitForRows(1);
    expect(row!.key_id).toBe(keyId);

    const rotated = await h.admin('POST', `/admin/v1/keys/${keyId}/rotate`, { overlapSeconds: 3600 });
    expect(rotated.status, rotated.text).toBe(200);
    const newSecret: string = rotated.body.secret;
    expect(newSecret).not.toBe(oldSecret);
    expect((await h.admin('GET', `/admin/v1/keys/${keyId}`)).body).toMatchObject({ replacedBy: rotated.body.key.id, expiresAt: new Date(clock.t + HOUR).toISOString() });

    clock.advance(30 * 60_000);
    expect(await ask(oldSecret)).toBe(200);
    expect(await ask(newSecret)).toBe(200);

    clock.advance(30 * 60_000);
    const late = await ask(oldSecret);
    expect(late).toBeInstanceOf(ApiError);
    expect((late as ApiError).status).toBe(401);
    expect((late as ApiError).message).toMatch(/expired/);
    expect(await ask(newSecret)).toBe(200);
    expect((await h.admin('GET', `/admin/v1/keys/${keyId}`)).body.status).toBe('expired');

    const revoked = await h.admin('POST', `/admin/v1/keys/${rotated.body.key.id}/revoke`);
    expect(revoked.body.status).toBe('revoked');
    const after = await ask(newSecret);
    expect((after as ApiError).status).toBe(401);
    expect((after as ApiError).message).toMatch(/revoked/);
  });

  it('rotation keeps the old secret 24 h by default and stops it at once with overlap 0', async () => {
    const clock = manualClock();
    h = await startHarness({ env: { ADMIN_TOKEN }, clock });
    const a = await issueKey(h, { project: 'a' });
    const b = await issueKey(h, { project: 'b' });
    const rotA = await h.admin('POST', `/admin/v1/keys/${a.keyId}/rotate`);
    expect(rotA.status, rotA.text).toBe(200);
    expect((await h.admin('GET', `/admin/v1/keys/${a.keyId}`)).body.expiresAt).toBe(new Date(clock.t + 24 * HOUR).toISOString());
    clock.advance(24 * HOUR - 1);
    expect((await generate(h, a.secret)).status).toBe(200);
    clock.advance(1);
    expect((await generate(h, a.secret)).body.error.message).toMatch(/expired/);

    const rotB = await h.admin('POST', `/admin/v1/keys/${b.keyId}/rotate`, { overlapSeconds: 0 });
    const gone = await generate(h, b.secret);
    expect(gone.status).toBe(401);
    expect(gone.body.error).toMatchObject({ status: 'UNAUTHENTICATED', message: expect.stringMatching(/expired/) });
    expect((await generate(h, rotB.body.secret)).status).toBe(200);
    // A rotated key cannot be rotated again: its replacement is the one to rotate.
    expect((await h.admin('POST', `/admin/v1/keys/${b.keyId}/rotate`)).status).toBe(409);
  });

  it('a disabled key cannot be rotated into an enabled replacement (422); once enabled again it can', async () => {
    h = await startHarness({ env: { ADMIN_TOKEN } });
    const a = await issueKey(h);
    expect((await h.admin('POST', `/admin/v1/keys/${a.keyId}/disable`)).status).toBe(200);
    const keysBefore = (await h.admin('GET', '/admin/v1/keys')).body.data.length;
    const refused = await h.admin('POST', `/admin/v1/keys/${a.keyId}/rotate`, { overlapSeconds: 0 });
    expect(refused.status, refused.text).toBe(422);
    expect(refused.body.error.message).toMatch(/disabled; enable it first/);
    expect((await h.admin('GET', '/admin/v1/keys')).body.data.length).toBe(keysBefore);
    expect((await generate(h, a.secret)).status).toBe(401);
    expect((await h.admin('POST', `/admin/v1/keys/${a.keyId}/enable`)).status).toBe(200);
    const rotated = await h.admin('POST', `/admin/v1/keys/${a.keyId}/rotate`, { overlapSeconds: 0 });
    expect(rotated.status, rotated.text).toBe(200);
    expect((await generate(h, rotated.body.secret)).status).toBe(200);
  });

  it('a rotated key cannot outlive its overlap: its expiry may be brought forward, never pushed back or cleared', async () => {
    const clock = manualClock();
    h = await startHarness({ env: { ADMIN_TOKEN }, clock });
    const a = await issueKey(h, { project: 'a' });
    const b = await issueKey(h, { project: 'b' });
    await h.admin('POST', `/admin/v1/keys/${a.keyId}/rotate`, { overlapSeconds: 3600 });
    await h.admin('POST', `/admin/v1/keys/${b.keyId}/rotate`, { overlapSeconds: 0 });

    for (const expiresAt of [null, new Date(clock.t + 2 * HOUR).toISOString()]) {
      const res = await h.admin('PATCH', `/admin/v1/keys/${a.keyId}`, { expiresAt });
      expect(res.status, res.text).toBe(422);
      expect(res.body.error.message).toMatch(/rotated/);
    }
    // The old secret of a key rotated with overlap 0 stays dead.
    const revive = await h.admin('PATCH', `/admin/v1/keys/${b.keyId}`, { expiresAt: new Date(clock.t + HOUR).toISOString() });
    expect(revive.status, revive.text).toBe(422);
    expect((await generate(h, b.secret)).status).toBe(401);

    // Ending the overlap early is allowed, and other fields still change.
    const sooner = await h.admin('PATCH', `/admin/v1/keys/${a.keyId}`, { expiresAt: new Date(clock.t + 60_000).toISOString(), name: 'old' });
    expect(sooner.status, sooner.text).toBe(200);
    clock.advance(HOUR);
    expect((await generate(h, a.secret)).status).toBe(401);
    expect((await h.admin('PATCH', `/admin/v1/keys/${a.keyId}`, { expiresAt: null })).status).toBe(422);
    expect((await generate(h, a.secret)).status).toBe(401);
  });

  it('an expiry set on the key answers 401 saying the key expired once passed', async () => {
    const clock = manualClock();
    h = await startHarness({ env: { ADMIN_TOKEN }, clock });
    const { secret } = await issueKey(h, { key: { expiresAt: new Date(clock.t + HOUR).toISOString() } });
    expect((await generate(h, secret)).status).toBe(200);
    clock.advance(HOUR);
    const res = await generate(h, secret);
    expect(res.status).toBe(401);
    expect(res.body.error.message).toBe('API key has expired.');
  });

  it('disabling a key, its project or its tenant stops it on the next request; enabling restores it', async () => {
    h = await startHarness({ env: { ADMIN_TOKEN } });
    const { tenantId, projectId, keyId, secret } = await issueKey(h);
    for (const path of [`/admin/v1/keys/${keyId}`, `/admin/v1/projects/${projectId}`, `/admin/v1/tenants/${tenantId}`]) {
      expect((await h.admin('POST', `${path}/disable`)).body.status).toBe('disabled');
      const off = await generate(h, secret);
      expect(off.status).toBe(401);
      expect(off.body.error.message).toMatch(/disabled/);
      expect((await h.admin('POST', `${path}/enable`)).body.status).toBe('active');
      expect((await generate(h, secret)).status).toBe(200);
    }
    expect(h.fake.requests).toHaveLength(3);
  });

  it('deleting a tenant is a soft delete: its keys stop, the rows and usage stay, the slug is free again', async () => {
    h = await startHarness({ env: { ADMIN_TOKEN } });
    const { tenantId, projectId, keyId, secret } = await issueKey(h);
    expect((await generate(h, secret)).status).toBe(200);
    await h.waitForRows(1);
    const del = await h.admin('DELETE', `/admin/v1/tenants/${tenantId}`);
    expect(del.body.status).toBe('deleted');
    expect((await generate(h, secret)).status).toBe(401);
    expect((await h.admin('GET', `/admin/v1/projects/${projectId}`)).body.status).toBe('deleted');
    expect((await h.admin('GET', `/admin/v1/keys/${keyId}`)).body.status).toBe('deleted');
    expect((await h.admin('GET', '/admin/v1/tenants')).body.data).toEqual([]);
    expect((await h.admin('GET', '/admin/v1/tenants?status=deleted')).body.data.map((t: { id: string }) => t.id)).toEqual([tenantId]);
    expect((await h.admin('PATCH', `/admin/v1/tenants/${tenantId}`, { name: 'x' })).status).toBe(422);
    expect((await h.rows()).map((r) => r.tenant_id)).toEqual([tenantId]);
    expect((await h.admin('POST', '/admin/v1/tenants', { slug: 'acme' })).status).toBe(201);
  });

  it('scope changes apply on the next request', async () => {
    h = await startHarness({ env: { ADMIN_TOKEN } });
    const { keyId, secret } = await issueKey(h);
    expect((await generate(h, secret, 'gemini-2.5-pro')).status).toBe(200);
    await h.admin('PATCH', `/admin/v1/keys/${keyId}`, { scopes: { models: ['gemini-2.5-flash'] } });
    expect((await generate(h, secret, 'gemini-2.5-pro')).status).toBe(403);
    await h.admin('PATCH', `/admin/v1/keys/${keyId}`, { scopes: {} });
    expect((await generate(h, secret, 'gemini-2.5-pro')).status).toBe(200);
  });

  it('keeps last_used_at fresh through the usage writer, not per request', async () => {
    h = await startHarness({ env: { ADMIN_TOKEN } });
    const { keyId, secret } = await issueKey(h);
    expect((await h.admin('GET', `/admin/v1/keys/${keyId}`)).body.lastUsedAt).toBeNull();
    await generate(h, secret);
    await h.waitForRows(1);
    expect((await h.admin('GET', `/admin/v1/keys/${keyId}`)).body.lastUsedAt).not.toBeNull();
  });
});
