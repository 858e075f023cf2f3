import { and, eq, sql } from 'drizzle-orm';
import { iso, isoOrNull, mutate, type AccountsDeps, type Operator } from '../accounts/context.js';
import { ownerWhere, type OwnerFilter } from '../accounts/refs.js';
import { listPage, type ListQuery, type Page } from '../db/pagination.js';
import type { Db } from '../db/client.js';
import { tablesOf } from '../db/dialect.js';
import { GatewayError } from '../errors.js';
import { GOOGLE_KINDS, GOOGLE_NAME, kindOf } from './kinds.js';

interface AssignInput {
  name: string;
  /** The project by id, or by tenant and project slug. */
  projectId?: string | undefined;
  tenant?: string | undefined;
  project?: string | undefined;
  /** The upstream key that holds it (requests for it are pinned there); null lets any key serve it. */
  upstreamKeyId?: string | null | undefined;
}

export interface ResourceView {
  name: string;
  kind: string;
  tenantId: string;
  projectId: string;
  upstreamKeyId: string | null;
  source: string;
  createdAt: string;
  updatedAt: string;
}

function columnsOf(db: Db) {
  const { resources } = tablesOf(db);
  return {
    id: resources.name, kind: resources.kind, tenantId: resources.tenantId, projectId: resources.projectId,
    upstreamKeyId: resources.upstreamKeyId, source: resources.source, createdAt: resources.createdAt, updatedAt: resources.updatedAt,
  };
}
type Row = { id: string; kind: string; tenantId: string; projectId: string; upstreamKeyId: string | null; source: string; createdAt: number; updatedAt: number };

const view = (r: Row): ResourceView => ({
  name: r.id, kind: r.kind, tenantId: r.tenantId, projectId: r.projectId, upstreamKeyId: r.upstreamKeyId, source: r.source, createdAt: iso(r.createdAt), updatedAt: iso(r.updatedAt),
});

const rowOf = async (db: Db, name: string): Promise<Row | undefined> =>
  (await db.select(columnsOf(db)).from(tablesOf(db).resources).where(eq(tablesOf(db).resources.name, name)).limit(1))[0];

/**
 * Gives a resource the gateway never saw created (made before it, or directly upstream) to a
 * project, or moves one; audited as `resource.assign` like every admin write. Until then every
 * project is refused it.
 */
export async function assignResource(op: Operator, input: AssignInput): Promise<ResourceView> {
  if (!GOOGLE_NAME.test(input.name)) throw new GatewayError('invalid_argument', `name must look like ${GOOGLE_KINDS.map((k) => `${k}/{id}`).join(', ')} (got "${input.name}")`);
  return mutate(op, 'resource.assign', async (now, op) => {
    const { resources } = tablesOf(op.db);
    const project = await findProject(op.db, input);
    if (input.upstreamKeyId) await checkKeyFor(op.db, input.upstreamKeyId, project.id);
    const before = await rowOf(op.db, input.name);
    const row = {
      name: input.name,
      kind: kindOf(input.name),
      tenantId: project.tenantId,
      projectId: project.id,
      upstreamKeyId: input.upstreamKeyId ?? null,
      source: 'assigned',
      createdAt: now,
      updatedAt: now,
    };
    await op.db
      .insert(resources)
      .values(row)
      .onConflictDoUpdate({ target: resources.name, set: { tenantId: row.tenantId, projectId: row.projectId, upstreamKeyId: row.upstreamKeyId, source: 'assigned', updatedAt: now } });
    const after = view((await rowOf(op.db, input.name))!);
    return { target: { type: 'resource', id: input.name }, before: before ? view(before) : null, after, result: after };
  });
}

/**
 * A stored (bring-your-own) upstream key can hold only its own project's resources: pinned to another
 * project's key, every request for the resource would be refused (the pool does not hold that key,
 * and the project may not borrow another's), so the mistake is refused here, where it is made.
 * Pool keys (`env:…`) are shared by every project.
 */
async function checkKeyFor(db: Db, upstreamKeyId: string, projectId: string): Promise<void> {
  const { upstreamKeys } = tablesOf(db);
  const key = (await db.select({ projectId: upstreamKeys.projectId }).from(upstreamKeys).where(eq(upstreamKeys.id, upstreamKeyId)).limit(1))[0];
  if (key && key.projectId !== projectId) {
    throw new GatewayError('unprocessable', `The upstream key ${upstreamKeyId} belongs to another project; a resource can be pinned only to a pool key or to its own project's key.`);
  }
  if (!key && !upstreamKeyId.startsWith('env:')) throw new GatewayError('not_found', `No upstream key ${upstreamKeyId}.`);
}

async function findProject(db: Db, input: AssignInput): Promise<{ id: string; tenantId: string }> {
  const { projects, tenants } = tablesOf(db);
  if (input.projectId) {
    const p = (await db.select({ id: projects.id, tenantId: projects.tenantId }).from(projects).where(eq(projects.id, input.projectId)).limit(1))[0];
    if (!p) throw new GatewayError('not_found', `no project with id ${input.projectId}`);
    return p;
  }
  if (!input.tenant || !input.project) throw new GatewayError('invalid_argument', 'give projectId, or tenant and project slugs');
  const [p] = await db
    .select({ id: projects.id, tenantId: projects.tenantId })
    .from(projects)
    .innerJoin(tenants, eq(projects.tenantId, tenants.id))
    .where(and(eq(tenants.slug, input.tenant), eq(projects.slug, input.project)))
    .limit(1);
  if (!p) throw new GatewayError('not_found', `no project ${input.tenant}/${input.project}`);
  return p;
}

/** Recorded resources, newest first, one page at a time; `tenant` and `project` take an id or a slug. */
export async function listResources({ db }: Pick<AccountsDeps, 'db'>, q: ListQuery & OwnerFilter & { kind?: string | undefined }): Promise<Page<ResourceView>> {
  const { resources } = tablesOf(db);
  const filters = [...(await ownerWhere(db, q, { tenantId: resources.tenantId, projectId: resources.projectId })), q.kind ? eq(resources.kind, q.kind) : undefined];
  return listPage(db, db.select(columnsOf(db)).from(resources).$dynamic(), { createdAt: resources.createdAt, id: resources.name }, q, filters, view);
}

interface UpstreamKeyUsage {
  upstreamKeyId: string;
  requests: number;
  totalTokens: number;
  lastUsedAt: string | null;
}

/** Requests and tokens per upstream key since `since` (epoch ms). */
export async function usageByUpstreamKey(db: Db, since = 0): Promise<UpstreamKeyUsage[]> {
  const { usageEvents } = tablesOf(db);
  const rows = await db
    .select({
      upstreamKeyId: sql<string>`${usageEvents.upstreamKeyId}`,
      requests: sql<number>`count(*)`.mapWith(Number),
      totalTokens: sql<number>`coalesce(sum(${usageEvents.totalTokens}), 0)`.mapWith(Number),
      lastUsedAt: sql<number | null>`max(${usageEvents.createdAt})`.mapWith((v: unknown) => (v == null ? null : Number(v))),
    })
    .from(usageEvents)
    .where(and(sql`${usageEvents.upstreamKeyId} IS NOT NULL`, sql`${usageEvents.createdAt} >= ${since}`))
    .groupBy(usageEvents.upstreamKeyId);
  return rows.map((r) => ({ ...r, lastUsedAt: isoOrNull(r.lastUsedAt) }));
}
