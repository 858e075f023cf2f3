import { and, eq, inArray } from 'drizzle-orm';
import { mutate, type AccountsDeps, type Operator } from '../accounts/context.js';
import { projectRow, requireLiveProject } from '../accounts/projects.js';
import type { Db } from '../db/client.js';
import { query, tablesOf } from '../db/dialect.js';
import { GatewayError } from '../errors.js';
import { projectLimitsSchema, type ProjectLimits } from './policy.js';

export interface StoredLimits extends ProjectLimits {
  projectId: string;
  updatedAt: string | null;
}

/** Every project's policy, for the in-memory admission path. A corrupt row is skipped and reported, never half-applied. */
export async function loadAllPolicies(db: Db, onBad: (projectId: string, problem: string) => void): Promise<Map<string, ProjectLimits>> {
  const out = new Map<string, ProjectLimits>();
  for (const row of await db.select().from(tablesOf(db).projectLimits)) {
    const parsed = parseStored(row.rules, row.hardCap);
    if (parsed.ok) out.set(row.projectId, parsed.value);
    else onBad(row.projectId, parsed.problem);
  }
  return out;
}

/**
 * loadAllPolicies for the hot path: one prepared statement, and a row whose rules and hard cap are
 * unchanged since the last load keeps its parsed policy (no JSON parse, no schema check, no repeat
 * "invalid" report). Reloads follow PRAGMA data_version, which also moves on every usage-writer commit,
 * so this runs every flush interval under load, not only when limits change.
 */
export function createPolicyLoader(db: Db, onBad: (projectId: string, problem: string) => void): () => Promise<Map<string, ProjectLimits>> {
  let memo = new Map<string, { rules: string; hardCap: number; value: ProjectLimits | null }>();
  return async () => {
    const out = new Map<string, ProjectLimits>();
    const next: typeof memo = new Map();
    const rows = await query<{ project_id: string; rules: string; hard_cap: number }>(db, 'SELECT project_id, rules, hard_cap FROM project_limits');
    for (const { project_id: projectId, rules, hard_cap: hardCap } of rows) {
      let m = memo.get(projectId);
      if (!m || m.rules !== rules || m.hardCap !== hardCap) {
        const parsed = parseStored(rules, hardCap);
        if (!parsed.ok) onBad(projectId, parsed.problem);
        m = { rules, hardCap, value: parsed.ok ? parsed.value : null };
      }
      next.set(projectId, m);
      if (m.value) out.set(projectId, m.value);
    }
    memo = next;
    return out;
  };
}

function parseStored(rules: string, hardCap: number): { ok: true; value: ProjectLimits } | { ok: false; problem: string } {
  try {
    const list: unknown = JSON.parse(rules);
    const r = projectLimitsSchema.safeParse({ hardCap: hardCap === 1, limits: Array.isArray(list) ? list : [] });
    return r.success ? { ok: true, value: r.data } : { ok: false, problem: r.error.message };
  } catch (err) {
    return { ok: false, problem: (err as Error).message };
  }
}

async function stored(db: Db, projectId: string): Promise<StoredLimits> {
  const { projectLimits } = tablesOf(db);
  const row = (await db.select().from(projectLimits).where(eq(projectLimits.projectId, projectId)).limit(1))[0];
  if (!row) return { projectId, hardCap: false, limits: [], updatedAt: null };
  const parsed = parseStored(row.rules, row.hardCap);
  if (!parsed.ok) throw new GatewayError('internal', `stored limits for ${projectId} are invalid: ${parsed.problem}`);
  return { projectId, ...parsed.value, updatedAt: new Date(row.updatedAt).toISOString() };
}

/** The project's policy as stored; a project without one has no limits. 404 when the project does not exist. */
export async function readLimits(deps: AccountsDeps, projectId: string): Promise<StoredLimits> {
  await projectRow(deps, projectId);
  return stored(deps.db, projectId);
}

/**
 * Replaces the project's whole policy, audited as `limits.update`. Keys named by a rule must belong to
 * the project; a deleted project cannot get limits (422).
 */
export function writeLimits(op: Operator, projectId: string, input: ProjectLimits): Promise<StoredLimits> {
  const parsed = projectLimitsSchema.safeParse(input);
  if (!parsed.success) {
    throw new GatewayError('invalid_argument', `Invalid limits: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ')}`);
  }
  const policy = parsed.data;
  return mutate(op, 'limits.update', async (now, op) => {
    const { apiKeys, projectLimits } = tablesOf(op.db);
    await requireLiveProject(op, projectId);
    const keyIds = policy.limits.flatMap((r) => (r.keyId ? [r.keyId] : []));
    if (keyIds.length) {
      const rows = await op.db.select({ id: apiKeys.id }).from(apiKeys).where(and(eq(apiKeys.projectId, projectId), inArray(apiKeys.id, keyIds)));
      const found = new Set(rows.map((k) => k.id));
      const missing = keyIds.filter((id) => !found.has(id));
      if (missing.length) throw new GatewayError('invalid_argument', `key ${missing.join(', ')} does not belong to project ${projectId}`);
    }
    const before = await stored(op.db, projectId);
    const values = { hardCap: policy.hardCap ? 1 : 0, rules: JSON.stringify(policy.limits), updatedAt: now };
    await op.db.insert(projectLimits).values({ projectId, createdAt: now, ...values }).onConflictDoUpdate({ target: projectLimits.projectId, set: values });
    const after = await stored(op.db, projectId);
    return { target: { type: 'project', id: projectId }, before, after, result: after };
  });
}
