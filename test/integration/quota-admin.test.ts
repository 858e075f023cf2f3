import { afterEach, describe, expect, it } from 'vitest';
import { cli } from '../support/cli.js';
import { ADMIN_TOKEN, startHarness, type Harness } from '../support/harness.js';
import { ADMIN_ENV, generate, putLimits, quota, testClock } from '../support/quota.js';

let h: Harness;
afterEach(async () => h?.close());

describe('admin API: /admin/v1/projects/{id}/limits', () => {
  it('reads, validates and replaces a policy, and the next request sees it', async () => {
    h = await startHarness({ env: ADMIN_ENV, clock: testClock('2026-05-10T12:00:30Z') });
    const key = await h.createKey('acme', 'web');
    const other = await h.createKey('acme', 'batch');
    const projectId = await h.projectOf(key.id);
    const get = () => fetch(`${h.url}/admin/v1/projects/${projectId}/limits`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });

    expect(await (await get()).json()).toEqual({ projectId, hardCap: false, limits: [], updatedAt: null });
    expect((await fetch(`${h.url}/admin/v1/projects/${projectId}/limits`)).status).toBe(401);
    expect((await putLimits(h, 'prj_missing', { limits: [] })).status).toBe(404);
    for (const bad of [
      { limits: [{ keyId: key.id, model: 'm', requestsPerMinute: 1 }] },
      { limits: [{ requestsPerMinute: -1 }] },
      { limits: [{ model: 'm' }] },
      { limits: [{ tokensPerDay: 1 }, { tokensPerMinute: 2 }] },
      { limits: [], surprise: true },
      { limits: [{ keyId: other.id, requestsPerMinute: 1 }] },
    ]) {
      const res = await putLimits(h, projectId, bad);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_argument');
    }

    const policy = { hardCap: true, limits: [{ tokensPerDay: 5000, requestsPerMinute: 1 }, { keyId: key.id, maxConcurrent: 2 }, { model: 'models/google-text', tokensPerMinute: 900 }] };
    const put = await putLimits(h, projectId, policy);
    expect(put.status).toBe(200);
    const stored = await (await get()).json();
    expect(stored).toMatchObject({ projectId, hardCap: true, limits: [policy.limits[0], policy.limits[1], { model: 'google-text', tokensPerMinute: 900 }] });
    expect(Date.parse(stored.updatedAt)).toBe(Date.parse('2026-05-10T12:00:30Z'));
    expect((await generate(h, key.key)).status).toBe(200);
    expect((await generate(h, key.key)).status).toBe(429);

    const doc = await (await fetch(`${h.url}/admin/v1/openapi.json`)).json();
    expect(Object.keys(doc.paths['/admin/v1/projects/{id}/limits'])).toEqual(['get', 'put']);

    // Audited like every admin mutation; a deleted project takes no new limits.
    const audit = await h.admin('GET', '/admin/v1/audit?action=limits.update');
    expect(audit.body.data).toHaveLength(1);
    expect(audit.body.data[0]).toMatchObject({ actor: 'admin-token', target: { type: 'project', id: projectId } });
    expect((await h.admin('DELETE', `/admin/v1/projects/${await h.projectOf(other.id)}`)).status).toBe(200);
    expect((await putLimits(h, await h.projectOf(other.id), { limits: [] })).status).toBe(422);
  });
});

describe('self-service: GET /gateway/v1/quota', () => {
  it('authenticates like the proxy and reports each limit with used, remaining and resetsAt', async () => {
    h = await startHarness({ env: ADMIN_ENV, clock: testClock('2026-05-10T12:00:30Z') });
    const key = await h.createKey('acme', 'web');
    await putLimits(h, await h.projectOf(key.id), { limits: [{ tokensPerMonth: 10_000, maxConcurrent: 4 }] });
    await generate(h, key.key).then((r) => r.arrayBuffer());
    await h.waitForRows(1);

    const none = await fetch(`${h.url}/gateway/v1/quota`);
    expect(none.status).toBe(401);
    expect((await none.json()).error.status).toBe('UNAUTHENTICATED');
    expect((await fetch(`${h.url}/gateway/v1/quota`, { headers: { authorization: `Bearer ${key.key}` } })).status).toBe(200);
    const viaQuery = await fetch(`${h.url}/gateway/v1/quota?key=${encodeURIComponent(key.key)}`);
    expect(await viaQuery.json()).toEqual(await quota(h, key.key));

    expect(await quota(h, key.key)).toEqual({
      tenant: 'acme',
      project: { id: await h.projectOf(key.id), slug: 'web' },
      keyId: key.id,
      hardCap: false,
      inFlight: { requests: 0, reservedTokens: 0 },
      limits: [
        { policy: 'tpmo', limit: 'tokensPerMonth', scope: 'project', value: 10_000, used: 281, reserved: 0, remaining: 10_000 - 281, window: 'month', resetsAt: '2026-06-01T00:00:00.000Z' },
        { policy: 'concurrency', limit: 'maxConcurrent', scope: 'project', value: 4, used: 0, reserved: 0, remaining: 4, window: null, resetsAt: null },
      ],
    });
  });
});

describe('CLI: gemini-gateway limits set|get', () => {
  it('writes rules the running gateway applies on its next request, and reads them back', async () => {
    h = await startHarness({ env: ADMIN_ENV });
    const key = await h.createKey('acme', 'web');
    const env = { ...h.dbEnv };
    expect((await cli(env, ['limits', 'set', '--tenant', 'acme', '--project', 'web', '--requests-per-minute', '1', '--tokens-per-day', '50000'])).code).toBe(0);
    expect((await cli(env, ['limits', 'set', '--project', await h.projectOf(key.id), '--key-id', key.id, '--max-concurrent', '3', '--hard-cap', 'on'])).code).toBe(0);
    const bad = await cli(env, ['limits', 'set', '--tenant', 'acme', '--project', 'web', '--tokens-per-day', 'lots']);
    expect(bad).toMatchObject({ code: 1, stderr: 'gemini-gateway: --tokens-per-day takes a whole number or "none" (got "lots")\n' });

    // The CLI committed on its own connection: the gateway notices on the next request.
    expect((await generate(h, key.key)).status).toBe(200);
    expect((await generate(h, key.key)).status).toBe(429);
    await h.waitForRows(2);

    const got = await cli(env, ['limits', 'get', '--project', await h.projectOf(key.id), '--json']);
    expect(got.code).toBe(0);
    const parsed = got.json();
    expect(parsed).toMatchObject({ hardCap: true, limits: [{ requestsPerMinute: 1, tokensPerDay: 50000 }, { keyId: key.id, maxConcurrent: 3 }] });
    expect(parsed.status.limits.map((l: { policy: string; used: number }) => [l.policy, l.used])).toEqual([['rpm', 1], ['tpd', 281], ['key/concurrency', 0]]);
    expect((await cli(env, ['limits', 'set', '--tenant', 'acme', '--project', 'web', '--clear', '--json'])).json().limits).toEqual([{ keyId: key.id, maxConcurrent: 3 }]);
    expect((await h.admin('GET', '/admin/v1/audit?action=limits.update')).body.data[0].actor).toMatch(/^cli:/);
  });
});

describe('rotating a key with rules of its own', () => {
  it('gives the replacement the same key rules, so rotating never lifts a key limit', async () => {
    h = await startHarness({ env: ADMIN_ENV, clock: testClock('2026-05-10T12:00:10Z') });
    const key = await h.createKey('acme', 'web');
    const projectId = await h.projectOf(key.id);
    expect((await putLimits(h, projectId, { limits: [{ tokensPerDay: 1_000_000 }, { keyId: key.id, requestsPerMinute: 1 }] })).status).toBe(200);

    const rotated = await h.admin('POST', `/admin/v1/keys/${key.id}/rotate`, { overlapSeconds: 3600 });
    expect(rotated.status, rotated.text).toBe(200);
    const next = rotated.body.key.id as string;
    expect((await generate(h, rotated.body.secret)).status).toBe(200);
    expect((await generate(h, rotated.body.secret)).status).toBe(429);
    expect((await h.admin('GET', `/admin/v1/projects/${projectId}/limits`)).body.limits).toEqual([
      { tokensPerDay: 1_000_000 }, { keyId: key.id, requestsPerMinute: 1 }, { keyId: next, requestsPerMinute: 1 },
    ]);
    expect((await generate(h, key.key)).status).toBe(200);
    expect((await generate(h, key.key)).status).toBe(429);
    // The copy is part of the audited rotation.
    const audit = (await h.admin('GET', '/admin/v1/audit?action=limits.update')).body.data;
    expect(audit).toHaveLength(2);
    expect(audit[0]).toMatchObject({ target: { type: 'project', id: projectId } });
  });
});
