import type { CreatedKey } from '../../src/accounts/issue-key.js';
import type { Outcome, UsageRow } from '../../src/metering/row.js';
import type { Usage } from '../../src/metering/usage.js';
import { ADMIN_TOKEN, type Harness } from './harness.js';

export { ADMIN_TOKEN };

/** A key with the ids the usage rows need. */
export interface SeedKey extends CreatedKey {
  tenantId: string;
  projectId: string;
}

export async function seedKey(h: Harness, tenant: string, project: string): Promise<SeedKey> {
  const k = await h.createKey(tenant, project);
  const [ids] = await h.query<{ projectId: string; tenantId: string }>('SELECT p.id AS "projectId", p.tenant_id AS "tenantId" FROM api_keys k JOIN projects p ON p.id = k.project_id WHERE k.id = ?', [k.id]);
  return { ...k, ...ids! };
}

export function tokens(prompt: number, output: number, extra: Partial<Omit<Usage, 'json'>> = {}): Usage {
  const u = { promptTokens: prompt, cachedTokens: 0, outputTokens: output, thoughtsTokens: 0, toolUsePromptTokens: 0, ...extra };
  const totalTokens = u.promptTokens + u.outputTokens + u.thoughtsTokens + u.toolUsePromptTokens;
  return { ...u, totalTokens, json: JSON.stringify({ promptTokenCount: prompt, totalTokenCount: totalTokens }) };
}

export interface SeedEvent {
  at: string;
  key: SeedKey;
  model: string | null;
  endpoint: string;
  outcome: Outcome;
  usage: Usage | null;
  latencyMs: number;
  ttfbMs: number | null;
  status?: number;
}

let n = 0;

/** Writes events through the real recorder (so costs and rollups are computed as in production) and flushes. */
export async function seedEvents(h: Harness, events: SeedEvent[]): Promise<void> {
  for (const e of events) {
    const row: UsageRow = {
      createdAt: Date.parse(e.at), requestId: `seed-${++n}`, tenantId: e.key.tenantId, projectId: e.key.projectId, keyId: e.key.id,
      upstreamKeyId: null, method: 'POST', apiVersion: 'v1beta', endpoint: e.endpoint, model: e.model,
      stream: e.endpoint === 'streamGenerateContent' ? 1 : 0, status: e.status ?? (e.outcome === 'ok' ? 200 : 500), outcome: e.outcome,
      usage: e.usage, ttfbMs: e.ttfbMs, latencyMs: e.latencyMs, bytesIn: 100, bytesOut: 1000,
    };
    h.gateway.deps.recorder.record(row);
  }
  await h.gateway.deps.recorder.flush();
}

/** GET with a bearer token; returns status and parsed JSON (or text). */
export async function getJson(h: Harness, path: string, token: string | null = ADMIN_TOKEN): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(h.url + path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // CSV or Prometheus text stays a string.
  }
  return { status: res.status, body, headers: res.headers };
}
