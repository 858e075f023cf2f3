import { and, eq, inArray } from 'drizzle-orm';
import type { Clock } from '../clock.js';
import type { Db } from '../db/client.js';
import { apiKeys, projectLimits, projects, tenants } from '../db/schema/index.js';
import { GatewayError } from '../errors.js';
import { projectLimitsSchema, type ProjectLimits } from './policy.js';

export interface StoredLimits extends ProjectLimits {
  project_id: string;
  updated_at: string | null;
}

/** Every project's policy, for the in-memory admission path. A corrupt row is skipped and reported, never half-applied. */
export function loadAllPolicies(db: Db, onBad: (projectId: string, problem: string) => void): Map<string, ProjectLimits> {
  const out = new Map<string, ProjectLimits>();
  for (const row of db.select().from(projectLimits).all()) {
    const parsed = parseStored(row.rules, row.hardCap);
    if (parsed.ok) out.set(row.projectId, parsed.value);
    else onBad(row.projectId, parsed.problem);
  }
  return out;
}

function parseStored(rules: string, hardCap: number): { ok: true; value: ProjectLimits } | { ok: false; problem: string } {
  try {
    const r = projectLimitsSchema.safeParse({ hard_cap: hardCap === 1, limits: asArray(JSON.parse(rules)) });
    return r.success ? { ok: true, value: r.data } : { ok: false, problem: r.error.message };
  } catch (err) {
    return { ok: false, problem: (err as Error).message };
  }
}

const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** The project's policy as stored; a project without a row has no limits. 404 when the project does not exist. */
export function readLimits(db: Db, projectId: string): StoredLimits {
  requireProject(db, projectId);
  const row = db.select().from(projectLimits).where(eq(projectLimits.projectId, projectId)).get();
  if (!row) return { project_id: projectId, hard_cap: false, limits: [], updated_at: null };
  const parsed = parseStored(row.rules, row.hardCap);
  if (!parsed.ok) throw new GatewayError('internal', `stored limits for ${projectId} are invalid: ${parsed.problem}`);
  return { project_id: projectId, ...parsed.value, updated_at: new Date(row.updatedAt).toISOString() };
}

/** Replaces the project's whole policy. Keys named by a rule must belong to the project. */
export function writeLimits(db: Db, clock: Clock, projectId: string, input: ProjectLimits): StoredLimits {
  requireProject(db, projectId);
  const parsed = projectLimitsSchema.safeParse(input);
  if (!parsed.success) {
    throw new GatewayError('invalid_argument', `Invalid limits: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ')}`);
  }
  const policy = parsed.data;
  const keyIds = policy.limits.flatMap((r) => (r.key_id ? [r.key_id] : []));
  if (keyIds.length) {
    const found = new Set(
      db.select({ id: apiKeys.id }).from(apiKeys).where(and(eq(apiKeys.projectId, projectId), inArray(apiKeys.id, keyIds))).all().map((k) => k.id),
    );
    const missing = keyIds.filter((id) => !found.has(id));
    if (missing.length) throw new GatewayError('invalid_argument', `key ${missing.join(', ')} does not belong to project ${projectId}`);
  }
  const now = clock.now();
  const rules = JSON.stringify(policy.limits);
  db.insert(projectLimits)
    .values({ projectId, hardCap: policy.hard_cap ? 1 : 0, rules, createdAt: now, updatedAt: now })
    .onConflictDoUpdate({ target: projectLimits.projectId, set: { hardCap: policy.hard_cap ? 1 : 0, rules, updatedAt: now } })
    .run();
  return { project_id: projectId, ...policy, updated_at: new Date(now).toISOString() };
}

function requireProject(db: Db, projectId: string): void {
  const p = db.select({ id: projects.id }).from(projects).where(eq(projects.id, projectId)).get();
  if (!p) throw new GatewayError('not_found', `no project with id ${projectId}`);
}

/** A project id, or `tenant/project` slugs (what the CLI accepts). */
export function resolveProjectRef(db: Db, ref: string): string {
  const slash = ref.indexOf('/');
  if (slash === -1) {
    requireProject(db, ref);
    return ref;
  }
  const row = db
    .select({ id: projects.id })
    .from(projects)
    .innerJoin(tenants, eq(projects.tenantId, tenants.id))
    .where(and(eq(tenants.slug, ref.slice(0, slash)), eq(projects.slug, ref.slice(slash + 1))))
    .get();
  if (!row) throw new GatewayError('not_found', `no project ${ref}`);
  return row.id;
}
