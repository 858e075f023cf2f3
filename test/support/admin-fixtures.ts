import { expect } from 'vitest';
import type { Harness } from './harness.js';

/** A settable clock for expiry and rotation tests. */
export function manualClock(start = Date.parse('2026-03-01T00:00:00Z')) {
  return {
    t: start,
    now() {
      return this.t;
    },
    advance(ms: number) {
      this.t += ms;
    },
  };
}

export interface Issued {
  tenantId: string;
  projectId: string;
  keyId: string;
  secret: string;
}

/** Tenant → project → key through the admin API, asserting each step succeeded. */
export async function issueKey(h: Harness, opts: { tenant?: string; project?: string; key?: Record<string, unknown> } = {}): Promise<Issued> {
  const tenant = opts.tenant ?? 'acme';
  let t = await h.admin('GET', `/admin/v1/tenants?limit=200`);
  let tenantId = t.body.data.find((x: { slug: string }) => x.slug === tenant)?.id;
  if (!tenantId) {
    t = await h.admin('POST', '/admin/v1/tenants', { slug: tenant });
    expect(t.status, t.text).toBe(201);
    tenantId = t.body.id;
  }
  const p = await h.admin('POST', '/admin/v1/projects', { tenantId, slug: opts.project ?? 'web' });
  expect(p.status, p.text).toBe(201);
  const k = await h.admin('POST', '/admin/v1/keys', { projectId: p.body.id, ...opts.key });
  expect(k.status, k.text).toBe(201);
  return { tenantId, projectId: p.body.id, keyId: k.body.key.id, secret: k.body.secret };
}

/** One raw generateContent call: status and parsed body. */
export async function generate(h: Harness, secret: string, model = 'google-text'): Promise<{ status: number; body: any }> {
  const res = await fetch(`${h.url}/v1beta/models/${model}:generateContent`, {
    method: 'POST',
    headers: { 'x-goog-api-key': secret, 'content-type': 'application/json' },
    body: JSON.stringify({ contents: [{ parts: [{ text: 'hi' }] }] }),
  });
  return { status: res.status, body: await res.json() };
}
