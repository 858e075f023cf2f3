import { afterEach, describe, expect, it } from 'vitest';
import { issueKey, manualClock } from '../support/admin-fixtures.js';
import { ADMIN_TOKEN, startHarness, type Harness } from '../support/harness.js';

describe('admin API', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  it('answers 401 without or with a wrong token, and 503 with a how-to when ADMIN_TOKEN is unset', async () => {
    h = await startHarness({ env: { ADMIN_TOKEN } });
    for (const token of [null, 'wrong-token-of-enough-length', `${ADMIN_TOKEN}x`]) {
      const r = await h.admin('GET', '/admin/v1/tenants', undefined, token);
      expect(r.status).toBe(401);
      expect(r.body.error).toMatchObject({ code: 'unauthenticated', requestId: expect.any(String) });
    }
    expect((await h.admin('POST', '/admin/v1/tenants', { slug: 'x' }, null)).status).toBe(401);
    expect((await h.admin('GET', '/admin/v1/tenants')).status).toBe(200);
    await h.close();

    h = await startHarness();
    const r = await h.admin('GET', '/admin/v1/tenants', undefined, ADMIN_TOKEN);
    expect(r.status).toBe(503);
    expect(r.body.error.message).toMatch(/Set ADMIN_TOKEN/);
    expect((await h.admin('POST', '/admin/v1/keys', {}, ADMIN_TOKEN)).status).toBe(503);
  });

  it('validates requests with zod: 400 listing the problem, in the admin error shape', async () => {
    h = await startHarness({ env: { ADMIN_TOKEN } });
    const bad = await h.admin('POST', '/admin/v1/tenants', { slug: 'Not A Slug', labels: { 'bad key': 'x' } });
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ error: { code: 'invalid_argument', message: expect.stringMatching(/slug.*labels|labels.*slug/s), requestId: expect.any(String) } });
    expect((await h.admin('POST', '/admin/v1/tenants', { slug: 'ok', extra: 1 })).status).toBe(400);
    const malformed = await fetch(`${h.url}/admin/v1/tenants`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: '{' });
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as any).error.code).toBe('invalid_argument');
    expect((await h.admin('GET', '/admin/v1/tenants?limit=0')).status).toBe(400);
    expect((await h.admin('GET', '/admin/v1/tenants?cursor=nope')).status).toBe(400);
    expect((await h.admin('POST', '/admin/v1/keys', { projectId: 'prj_x', expiresAt: 'tomorrow' })).status).toBe(400);
  });

  it('refuses a malformed request path on admin routes in the admin error shape, on Gemini paths in Google\'s', async () => {
    h = await startHarness({ env: { ADMIN_TOKEN } });
    const get = async (path: string) => {
      const res = await fetch(`${h.url}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as any };
    };
    for (const path of ['/admin/v1/keys/%ZZ', '/admin/v1/keys/a%252Fb', '/admin/v1/tenants/a%5Cb']) {
      const res = await get(path);
      expect(res.status, path).toBe(400);
      expect(res.type, path).toMatch(/^application\/json/);
      expect(res.body, path).toEqual({ error: { code: 'invalid_argument', message: expect.any(String), requestId: expect.any(String) } });
    }
    expect((await get('/v1beta/files/%ZZ')).body).toEqual({ error: { code: 400, message: expect.any(String), status: 'INVALID_ARGUMENT' } });
  });

  it('refuses a query parameter the route does not declare: 400 naming it, with the known name it is closest to', async () => {
    h = await startHarness({ env: { ADMIN_TOKEN } });
    const { projectId } = await issueKey(h);
    const refused = async (path: string, method = 'GET') => {
      const r = await h.admin(method, path, method === 'POST' ? { slug: 'never-made' } : undefined);
      expect(r.status, path).toBe(400);
      expect(r.body).toEqual({ error: { code: 'invalid_argument', message: expect.any(String), requestId: expect.any(String) } });
      return r.body.error.message as string;
    };
    // Read as a filtered answer, this used to be every project's usage.
    expect(await refused(`/admin/v1/usage?projectId=${projectId}`)).toMatch(/^Unknown query parameter "projectId" \(did you mean "project"\?\)\. This route accepts: .*\bproject\b/);
    expect(await refused('/admin/v1/keys?project_id=x')).toContain('"project_id" (did you mean "project"?)');
    expect(await refused('/admin/v1/tenants?Limit=5&zzz=1')).toMatch(/^Unknown query parameters "Limit" \(did you mean "limit"\?\), "zzz"\. /);
    expect(await refused('/admin/v1/usage?group_by=day')).toContain('(did you mean "groupBy"?)');
    expect(await refused('/admin/v1/audit?limt=5&target_type=key')).toMatch(/"limt" \(did you mean "limit"\?\), "target_type" \(did you mean "targetType"\?\)/);
    expect(await refused('/admin/v1/usage/events?groupBy=day')).toContain('"groupBy". This route accepts: ');
    // Routes without query parameters refuse every one: /usage/quota never filtered by project.
    expect(await refused(`/admin/v1/usage/quota?project=${projectId}`)).toBe('Unknown query parameter "project". This route takes no query parameters.');
    expect(await refused('/admin/v1/tenants?dryRun=1', 'POST')).toContain('"dryRun"');
    expect((await h.admin('GET', '/admin/v1/tenants/never-made')).status).toBe(404);
    // A long "name" is probably a misplaced secret: it is not echoed.
    const leaked = `ggw_${'A'.repeat(43)}`;
    expect(await refused(`/admin/v1/keys?${leaked}`)).toMatch(/^Unknown query parameter \(a name of 47 characters\)\./);
    // Authentication comes first: an anonymous caller learns nothing about the routes.
    expect((await h.admin('GET', '/admin/v1/usage?projectId=x', undefined, null)).status).toBe(401);

    // What each route declares still works, and the documents are not API routes.
    expect((await h.admin('GET', `/admin/v1/keys?tenant=acme&project=${projectId}&status=active&label=a&limit=5`)).status).toBe(200);
    expect((await h.admin('GET', `/admin/v1/usage?project=${projectId}&groupBy=day,model&format=csv&from=2026-01-01&to=2026-01-02`)).status).toBe(200);
    expect((await h.admin('GET', '/admin/v1/usage/events?limit=5&outcome=ok')).status).toBe(200);
    expect((await h.admin('GET', '/admin/v1/prices/unpriced?days=7')).status).toBe(200);
    expect((await fetch(`${h.url}/admin/v1/openapi.json?v=2`)).status).toBe(200);
    expect((await fetch(`${h.url}/admin/docs?v=2`)).status).toBe(200);
  });

  it('refuses an unknown query parameter on every route of the admin document, before anything else runs', async () => {
    h = await startHarness({ env: { ADMIN_TOKEN } });
    const doc = (await h.admin('GET', '/admin/v1/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
    const ops = Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((method) => ({ method: method.toUpperCase(), path: path.replace(/\{[^}]+\}/g, 'x_missing') })));
    expect(ops.length).toBeGreaterThan(30);
    for (const { method, path } of ops) {
      const r = await h.admin(method, `${path}?bogusParam=1`, method === 'GET' || method === 'DELETE' ? undefined : {});
      expect({ route: `${method} ${path}`, status: r.status, code: r.body.error?.code }).toEqual({ route: `${method} ${path}`, status: 400, code: 'invalid_argument' });
      expect(r.body.error.message).toMatch(/^Unknown query parameter "bogusParam"/);
    }
    expect(await h.scalar('SELECT count(*) FROM audit_events')).toBe(0);
  });

  it('refuses an expiry that is not later than now, on create and on update (no allowance for clock skew)', async () => {
    const clock = manualClock();
    h = await startHarness({ env: { ADMIN_TOKEN }, clock });
    const { projectId, keyId } = await issueKey(h);
    const at = (ms: number) => new Date(clock.t + ms).toISOString();
    const keys = async () => (await h.admin('GET', `/admin/v1/keys?project=${projectId}`)).body.data.length;
    for (const expiresAt of [at(-24 * 3600_000), at(-1), at(0), '2020-01-01T00:00:00+02:00']) {
      const created = await h.admin('POST', '/admin/v1/keys', { projectId, expiresAt });
      expect({ expiresAt, status: created.status }).toEqual({ expiresAt, status: 400 });
      expect(created.body).toEqual({ error: { code: 'invalid_argument', message: expect.stringMatching(/^expiresAt \S+ is in the past \(now: \S+\); it must be later than now\./), requestId: expect.any(String) } });
      const updated = await h.admin('PATCH', `/admin/v1/keys/${keyId}`, { expiresAt });
      expect(updated.status).toBe(400);
      expect(updated.body.error.message).toMatch(/is in the past/);
    }
    expect(await keys()).toBe(1);
    expect((await h.admin('GET', `/admin/v1/keys/${keyId}`)).body).toMatchObject({ status: 'active', expiresAt: null });

    const soon = await h.admin('POST', '/admin/v1/keys', { projectId, expiresAt: at(1) });
    expect(soon.status, soon.text).toBe(201);
    expect(soon.body.key).toMatchObject({ status: 'active', expiresAt: at(1) });
    expect((await h.admin('PATCH', `/admin/v1/keys/${keyId}`, { expiresAt: at(3600_000) })).body.expiresAt).toBe(at(3600_000));
    expect((await h.admin('PATCH', `/admin/v1/keys/${keyId}`, { expiresAt: null })).body.expiresAt).toBeNull();
    expect((await h.admin('PATCH', `/admin/v1/keys/${keyId}`, { name: 'renamed' })).status).toBe(200);
  });

  it('never answers 500 to a NUL character in a filter or a name (Postgres text cannot hold one)', async () => {
    h = await startHarness({ env: { ADMIN_TOKEN } });
    const answers = [
      await h.admin('GET', '/admin/v1/tenants?label=team%3D%00'),
      await h.admin('GET', '/admin/v1/projects?tenant=%00'),
      await h.admin('GET', '/admin/v1/usage?project=%00'),
      await h.admin('GET', '/admin/v1/usage/events?model=%00'),
      await h.admin('POST', '/admin/v1/tenants', { slug: 'nul', name: 'a\u0000b' }),
    ];
    for (const r of answers) {
      expect(r.status).toBeLessThan(500);
      if (r.status >= 400) expect(r.body).toEqual({ error: { code: 'invalid_argument', message: expect.any(String), requestId: expect.any(String) } });
    }
  });

  it('refuses a label value Postgres JSON cannot hold (NUL, an unpaired surrogate) with 400, so label filters keep working', async () => {
    h = await startHarness({ env: { ADMIN_TOKEN } });
    const { tenantId, keyId } = await issueKey(h);
    const refused = [
      await h.admin('PATCH', `/admin/v1/tenants/${tenantId}`, { labels: { team: 'a\u0000b' } }),
      await h.admin('PATCH', `/admin/v1/tenants/${tenantId}`, { labels: { team: 'x\ud800' } }),
      await h.admin('POST', '/admin/v1/tenants', { slug: 'lone', labels: { team: '\udc00' } }),
      await h.admin('PATCH', `/admin/v1/keys/${keyId}`, { labels: { team: 'a\u0000' } }),
    ];
    for (const r of refused) {
      expect(r.status).toBe(400);
      expect(r.body).toEqual({ error: { code: 'invalid_argument', message: expect.stringContaining('labels'), requestId: expect.any(String) } });
    }
    // A paired surrogate (an emoji) is ordinary text.
    expect((await h.admin('PATCH', `/admin/v1/tenants/${tenantId}`, { labels: { team: 'search \ud83d\ude80' } })).status).toBe(200);
    for (const path of ['/admin/v1/tenants?label=team', '/admin/v1/tenants?label=team%3Dsearch%20%F0%9F%9A%80', '/admin/v1/keys?label=team']) {
      const r = await h.admin('GET', path);
      expect({ path, status: r.status }).toEqual({ path, status: 200 });
    }
    expect((await h.admin('GET', '/admin/v1/tenants?label=team')).body.data).toHaveLength(1);
  });

  it('409 on a duplicate slug (per tenant for projects), 404 for unknown ids, 422 for changes a state forbids', async () => {
    h = await startHarness({ env: { ADMIN_TOKEN } });
    const { tenantId, keyId } = await issueKey(h);
    const dup = await h.admin('POST', '/admin/v1/tenants', { slug: 'acme' });
    expect(dup.status).toBe(409);
    expect(dup.body.error).toMatchObject({ code: 'conflict', message: expect.stringContaining('acme') });
    expect((await h.admin('POST', '/admin/v1/projects', { tenantId, slug: 'web' })).status).toBe(409);
    const other = await h.admin('POST', '/admin/v1/tenants', { slug: 'globex' });
    expect((await h.admin('POST', '/admin/v1/projects', { tenantId: other.body.id, slug: 'web' })).status).toBe(201);
    expect((await h.admin('POST', '/admin/v1/projects', { tenantId: 'globex', slug: 'api' })).status).toBe(201);

    for (const path of ['/admin/v1/tenants/ten_missing', '/admin/v1/projects/prj_missing', '/admin/v1/keys/key_missing', '/admin/v1/upstream-keys/upk_missing']) {
      const r = await h.admin('GET', path);
      expect(r.status, path).toBe(404);
      expect(r.body.error.code).toBe('not_found');
    }
    expect((await h.admin('POST', '/admin/v1/keys', { projectId: 'prj_missing' })).status).toBe(404);
    expect((await h.admin('GET', '/admin/v1/nothing-here')).status).toBe(404);

    await h.admin('POST', `/admin/v1/keys/${keyId}/revoke`);
    expect((await h.admin('POST', `/admin/v1/keys/${keyId}/enable`)).status).toBe(422);
    expect((await h.admin('POST', `/admin/v1/keys/${keyId}/rotate`)).status).toBe(422);
  });

  it('lists with cursor pagination (newest first) and filters by parent, status and label', async () => {
    h = await startHarness({ env: { ADMIN_TOKEN } });
    for (let i = 0; i < 5; i++) await h.admin('POST', '/admin/v1/tenants', { slug: `t${i}`, labels: { tier: i % 2 ? 'gold' : 'free', team: `x${i}` } });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = (await h.admin('GET', `/admin/v1/tenants?limit=2${cursor ? `&cursor=${cursor}` : ''}`)).body;
      expect(page.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.data.map((t: { slug: string }) => t.slug));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(['t4', 't3', 't2', 't1', 't0']);

    expect((await h.admin('GET', '/admin/v1/tenants?label=tier=gold')).body.data.map((t: any) => t.slug)).toEqual(['t3', 't1']);
    expect((await h.admin('GET', '/admin/v1/tenants?label=tier=free,team=x2')).body.data.map((t: any) => t.slug)).toEqual(['t2']);
    await h.admin('POST', '/admin/v1/tenants/t1/disable');
    expect((await h.admin('GET', '/admin/v1/tenants?status=disabled')).body.data.map((t: any) => t.slug)).toEqual(['t1']);
    expect((await h.admin('GET', '/admin/v1/tenants?status=active')).body.data).toHaveLength(4);

    const a = await issueKey(h, { tenant: 't0', project: 'p' });
    const b = await issueKey(h, { tenant: 't2', project: 'p', key: { labels: { env: 'prod' } } });
    await h.admin('POST', '/admin/v1/keys', { projectId: b.projectId });
    const ids = async (q: string) => (await h.admin('GET', `/admin/v1/keys?${q}`)).body.data.map((k: any) => k.id);
    expect(await ids(`project=${a.projectId}`)).toEqual([a.keyId]);
    expect(await ids('tenant=t2')).toHaveLength(2);
    // `tenant` and `project` take an id or a slug, as in /admin/v1/usage; a slug that names nothing matches nothing.
    expect(await ids('tenant=t2&project=p')).toHaveLength(2);
    expect(await ids('project=p')).toHaveLength(3);
    expect(await ids('tenant=nobody')).toEqual([]);
    expect(await ids('label=env=prod')).toEqual([b.keyId]);
    await h.admin('POST', `/admin/v1/keys/${a.keyId}/revoke`);
    expect(await ids('status=revoked')).toEqual([a.keyId]);
    expect(await ids('status=active')).not.toContain(a.keyId);
    expect((await h.admin('GET', '/admin/v1/projects?tenant=t0')).body.data.map((p: any) => p.id)).toEqual([a.projectId]);
  });

  it('shows a key secret only in the create and rotate responses', async () => {
    h = await startHarness({ env: { ADMIN_TOKEN } });
    const { keyId, secret } = await issueKey(h);
    const rotated = await h.admin('POST', `/admin/v1/keys/${keyId}/rotate`);
    for (const path of [`/admin/v1/keys/${keyId}`, `/admin/v1/keys/${rotated.body.key.id}`, '/admin/v1/keys', '/admin/v1/audit?limit=200']) {
      const { text } = await h.admin('GET', path);
      expect(text).not.toContain(secret);
      expect(text).not.toContain(rotated.body.secret);
      expect(text).not.toContain('"secret"');
    }
  });
});
