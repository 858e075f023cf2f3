import { and, asc, eq, sql } from 'drizzle-orm';
import type { Clock } from '../clock.js';
import type { Db } from '../db/client.js';
import { projects, resources, tenants, usageEvents } from '../db/schema/index.js';
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

interface ResourceListing {
  name: string;
  kind: string;
  tenantId: string;
  projectId: string;
  upstreamKeyId: string | null;
  source: string;
  createdAt: number;
}

/**
 * Gives a resource the gateway never saw created (made before it, or directly upstream) to a
 * project, or moves one. Until then every project is refused it.
 */
export function assignResource(db: Db, clock: Clock, input: AssignInput): ResourceListing {
  if (!GOOGLE_NAME.test(input.name)) throw new GatewayError('invalid_argument', `name must look like ${GOOGLE_KINDS.map((k) => `${k}/{id}`).join(', ')} (got "${input.name}")`);
  const project = findProject(db, input);
  const now = clock.now();
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
  db.insert(resources)
    .values(row)
    .onConflictDoUpdate({ target: resources.name, set: { tenantId: row.tenantId, projectId: row.projectId, upstreamKeyId: row.upstreamKeyId, source: 'assigned', updatedAt: now } })
    .run();
  return { name: row.name, kind: row.kind, tenantId: row.tenantId, projectId: row.projectId, upstreamKeyId: row.upstreamKeyId, source: row.source, createdAt: now };
}

function findProject(db: Db, input: AssignInput): { id: string; tenantId: string } {
  if (input.projectId) {
    const p = db.select({ id: projects.id, tenantId: projects.tenantId }).from(projects).where(eq(projects.id, input.projectId)).get();
    if (!p) throw new GatewayError('not_found', `no project with id ${input.projectId}`);
    return p;
  }
  if (!input.tenant || !input.project) throw new GatewayError('invalid_argument', 'give projectId, or tenant and project slugs');
  const p = db
    .select({ id: projects.id, tenantId: projects.tenantId })
    .from(projects)
    .innerJoin(tenants, eq(projects.tenantId, tenants.id))
    .where(and(eq(tenants.slug, input.tenant), eq(projects.slug, input.project)))
    .get();
  if (!p) throw new GatewayError('not_found', `no project ${input.tenant}/${input.project}`);
  return p;
}

export function listResources(db: Db, filter: { projectId?: string | undefined; kind?: string | undefined }): ResourceListing[] {
  const where = and(
    filter.projectId ? eq(resources.projectId, filter.projectId) : undefined,
    filter.kind ? eq(resources.kind, filter.kind) : undefined,
  );
  return db
    .select({ name: resources.name, kind: resources.kind, tenantId: resources.tenantId, projectId: resources.projectId, upstreamKeyId: resources.upstreamKeyId, source: resources.source, createdAt: resources.createdAt })
    .from(resources)
    .where(where)
    .orderBy(asc(resources.createdAt))
    .all();
}

interface UpstreamKeyUsage {
  upstreamKeyId: string;
  requests: number;
  totalTokens: number;
  lastUsedAt: number | null;
}

/** Requests and tokens per upstream key since `since` (epoch ms). */
export function usageByUpstreamKey(db: Db, since = 0): UpstreamKeyUsage[] {
  return db
    .select({
      upstreamKeyId: sql<string>`${usageEvents.upstreamKeyId}`,
      requests: sql<number>`count(*)`,
      totalTokens: sql<number>`coalesce(sum(${usageEvents.totalTokens}), 0)`,
      lastUsedAt: sql<number | null>`max(${usageEvents.createdAt})`,
    })
    .from(usageEvents)
    .where(and(sql`${usageEvents.upstreamKeyId} IS NOT NULL`, sql`${usageEvents.createdAt} >= ${since}`))
    .groupBy(usageEvents.upstreamKeyId)
    .all();
}
