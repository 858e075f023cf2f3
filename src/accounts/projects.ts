import { and, eq, isNull } from 'drizzle-orm';
import { listPage, type ListQuery, type Page } from '../db/pagination.js';
import { newId } from '../auth/keys.js';
import type { projects } from '../db/schema/index.js';
import { tablesOf } from '../db/dialect.js';
import { GatewayError } from '../errors.js';
import { ownerWhere, type OwnerFilter } from './refs.js';
import { conflictOnDuplicate, found, iso, isoOrNull, mutate, notDeleted, parseLabels, stamp, type AccountsDeps, type Operator } from './context.js';
import type { ProjectCreate, ProjectUpdate, ProjectView } from './schemas.js';
import { changed, containerStatus, containerStatusWhere, requireLiveTenant, retireProject, tenantRow } from './tenants.js';

type ProjectRow = typeof projects.$inferSelect;

export function projectView(r: ProjectRow): ProjectView {
  return {
    id: r.id, tenantId: r.tenantId, slug: r.slug, name: r.name, labels: parseLabels(r.labels), status: containerStatus(r),
    upstreamKeyId: r.upstreamKeyId, createdAt: iso(r.createdAt), updatedAt: iso(r.updatedAt),
    disabledAt: isoOrNull(r.disabledAt), deletedAt: isoOrNull(r.deletedAt),
  };
}

export async function projectRow({ db }: AccountsDeps, id: string): Promise<ProjectRow> {
  const { projects } = tablesOf(db);
  return found((await db.select().from(projects).where(eq(projects.id, id)).limit(1))[0], 'project', id);
}

/** A live project by tenant (id or slug) and project slug, for the CLI. */
export async function projectBySlug(deps: AccountsDeps, tenant: string, slug: string): Promise<ProjectRow | undefined> {
  const { projects } = tablesOf(deps.db);
  const t = await tenantRow(deps, tenant);
  return (await deps.db.select().from(projects).where(and(eq(projects.tenantId, t.id), eq(projects.slug, slug), isNull(projects.deletedAt))).limit(1))[0];
}

export const getProject = async (deps: AccountsDeps, id: string): Promise<ProjectView> => projectView(await projectRow(deps, id));

export async function listProjects(deps: AccountsDeps, q: ListQuery & Pick<OwnerFilter, 'tenant'> & { status?: string }): Promise<Page<ProjectView>> {
  const { projects } = tablesOf(deps.db);
  const filters = [...(await ownerWhere(deps.db, { tenant: q.tenant }, { tenantId: projects.tenantId })), containerStatusWhere(projects, q.status)];
  return listPage(deps.db, deps.db.select().from(projects).$dynamic(), projects, q, filters, projectView);
}

export function createProject(op: Operator, input: ProjectCreate): Promise<ProjectView> {
  return mutate(op, 'project.create', async (now, op) => {
    const { projects } = tablesOf(op.db);
    const tenant = await requireLiveTenant(op, input.tenantId);
    const row: ProjectRow = {
      id: newId('prj'), tenantId: tenant.id, slug: input.slug, name: input.name ?? input.slug, labels: JSON.stringify(input.labels ?? {}),
      upstreamKeyId: null, disabledAt: null, deletedAt: null, createdAt: now, updatedAt: now,
    };
    await conflictOnDuplicate(`A project with slug "${input.slug}" in tenant ${tenant.slug}`, async () => op.db.insert(projects).values(row));
    const view = projectView(row);
    return { target: { type: 'project', id: row.id }, before: null, after: view, result: view };
  });
}

export function updateProject(op: Operator, id: string, patch: ProjectUpdate): Promise<ProjectView> {
  return mutate(op, 'project.update', async (now, op) => {
    const { projects } = tablesOf(op.db);
    const before = notDeleted(await projectRow(op, id), 'project', id);
    if (patch.upstreamKeyId) await usableUpstreamKey(op, before.id, patch.upstreamKeyId);
    await op.db
      .update(projects)
      .set({
        name: patch.name ?? before.name,
        labels: patch.labels ? JSON.stringify(patch.labels) : before.labels,
        upstreamKeyId: patch.upstreamKeyId === undefined ? before.upstreamKeyId : patch.upstreamKeyId,
        updatedAt: now,
      })
      .where(eq(projects.id, id));
    return changed('project', before, await getProject(op, id), projectView);
  });
}

/** An upstream key a project may switch to: its own, and neither revoked nor deleted. */
async function usableUpstreamKey({ db }: AccountsDeps, projectId: string, keyId: string): Promise<void> {
  const { upstreamKeys } = tablesOf(db);
  const k = (await db.select().from(upstreamKeys).where(eq(upstreamKeys.id, keyId)).limit(1))[0];
  if (!k || k.projectId !== projectId) throw new GatewayError('unprocessable', `Upstream key ${keyId} does not belong to project ${projectId}.`);
  if (k.revokedAt !== null || k.deletedAt !== null) throw new GatewayError('unprocessable', `Upstream key ${keyId} is revoked or deleted.`);
}

export function setProjectDisabled(op: Operator, id: string, disabled: boolean): Promise<ProjectView> {
  return mutate(op, disabled ? 'project.disable' : 'project.enable', async (now, op) => {
    const before = notDeleted(await projectRow(op, id), 'project', id);
    await stamp(op.db, 'projects', 'disabledAt', id, disabled ? (before.disabledAt ?? now) : null, now);
    return changed('project', before, await getProject(op, id), projectView);
  });
}

export function deleteProject(op: Operator, id: string): Promise<ProjectView> {
  return mutate(op, 'project.delete', async (now, op) => {
    const before = notDeleted(await projectRow(op, id), 'project', id);
    await retireProject(op, id, now);
    return changed('project', before, await getProject(op, id), projectView);
  });
}

export async function requireLiveProject(deps: AccountsDeps, id: string): Promise<ProjectRow> {
  return notDeleted(await projectRow(deps, id), 'project', id);
}
