import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startHarness, type Harness } from '../support/harness.js';

describe('admin API documentation', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { ADMIN_TOKEN } });
  });
  afterAll(async () => h.close());

  it('serves a valid OpenAPI 3.1 document that lists every admin route', async () => {
    const { status, body: doc } = await h.admin('GET', '/admin/v1/openapi.json', undefined, null);
    expect(status).toBe(200);
    const validator = new Validator();
    const result = await validator.validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');

    // Every method+path the admin app actually routes under /admin/v1 must be documented.
    const routed = h.gateway.app.routes
      .filter((r) => r.path.startsWith('/admin/v1/') && r.method !== 'ALL' && r.path !== '/admin/v1/openapi.json')
      .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, '{$1}')}`);
    const documented = Object.entries(doc.paths as Record<string, object>).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`));
    expect(new Set(documented)).toEqual(new Set(routed));

    for (const resource of ['tenants', 'projects', 'keys', 'upstream-keys']) {
      const base = `/admin/v1/${resource}`;
      for (const op of [`post ${base}`, `get ${base}`, `get ${base}/{id}`, `patch ${base}/{id}`, `delete ${base}/{id}`, `post ${base}/{id}/disable`, `post ${base}/{id}/enable`]) {
        expect(documented).toContain(op);
      }
    }
    for (const resource of ['keys', 'upstream-keys']) {
      expect(documented).toEqual(expect.arrayContaining([`post /admin/v1/${resource}/{id}/revoke`, `post /admin/v1/${resource}/{id}/rotate`]));
    }
    expect(documented).toContain('get /admin/v1/audit');
  });

  it('serves a docs page at /admin/docs whose assets all come from the gateway itself (works offline)', async () => {
    const page = await fetch(`${h.url}/admin/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    const html = await page.text();
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThanOrEqual(3);
    for (const ref of refs) {
      expect(ref).not.toMatch(/^(https?:)?\/\//);
      const res = await fetch(new URL(ref, `${h.url}/admin/docs`));
      expect(res.status, ref).toBe(200);
      expect((await res.arrayBuffer()).byteLength, ref).toBeGreaterThan(0);
    }
    const init = await (await fetch(`${h.url}/admin/docs/assets/init.js`)).text();
    expect(init).toContain("'v1/openapi.json'");
    // An encoded traversal never reaches a route: the request-target guard refuses it first.
    expect((await fetch(`${h.url}/admin/docs/assets/..%2Fpackage.json`)).status).toBe(400);
  });
});
