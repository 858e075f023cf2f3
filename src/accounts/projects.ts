import { and, eq, isNull } from 'drizzle-orm';
import { listPage, type ListQuery, type Page } from '../db/pagination.js';
import { newId } from '../auth/keys.js';
import { projects, upstreamKeys } from '../db/schema/index.js';
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

export function projectRow({ db }: AccountsDeps, id: string): ProjectRow {
  return found(db.select().from(projects).where(eq(projects.id, id)).get(), 'project', id);
}

/** A live project by tenant (id or slug) and project slug, for the CLI. */
export function projectBySlug(deps: AccountsDeps, tenant: string, slug: string): ProjectRow | undefined {
  const t = tenantRow(deps, tenant);
  return deps.db.select().from(projects).where(and(eq(projects.tenantId, t.id), eq(projects.slug, slug), isNull(projects.deletedAt))).get();
}

export const getProject = (deps: AccountsDeps, id: string): ProjectView => projectView(projectRow(deps, id));

export function listProjects(deps: AccountsDeps, q: ListQuery & Pick<OwnerFilter, 'tenant'> & { status?: string }): Page<ProjectView> {
  const filters = [...ownerWhere(deps.db, { tenant: q.tenant }, { tenantId: projects.tenantId }), containerStatusWhere(projects, q.status)];
  return listPage(deps.db.select().from(projects).$dynamic(), projects, q, filters, projectView);
}

export function createProject(op: Operator, input: ProjectCreate): ProjectView {
  return mutate(op, 'project.create', (now) => {
    const tenant = requireLiveTenant(op, input.tenantId);
    const row: ProjectRow = {
      id: newId('prj'), tenantId: tenant.id, slug: input.slug, name: input.name ?? input.slug, labels: JSON.stringify(input.labels ?? {}),
      upstreamKeyId: null, disabledAt: null, deletedAt: null, createdAt: now, updatedAt: now,
    };
    conflictOnDuplicate(`A project with slug "${input.slug}" in tenant ${tenant.slug}`, () => op.db.insert(projects).values(row).run());
    const view = projectView(row);
    return { target: { type: 'project', id: row.id }, before: null, after: view, result: view };
  });
}

export function updateProject(op: Operator, id: string, patch: ProjectUpdate): ProjectView {
  return mutate(op, 'project.update', (now) => {
    const before = notDeleted(projectRow(op, id), 'project', id);
    if (patch.upstreamKeyId) usableUpstreamKey(op, before.id, patch.upstreamKeyId);
    op.db
      .update(projects)
      .set({
        name: patch.name ?? before.name,
        labels: patch.labels ? JSON.stringify(patch.labels) : before.labels,
        upstreamKeyId: patch.upstreamKeyId === undefined ? before.upstreamKeyId : patch.upstreamKeyId,
        updatedAt: now,
      })
      .where(eq(projects.id, id))
      .run();
    return changed('project', before, getProject(op, id), projectView);
  });
}

/** An upstream key a project may switch to: its own, and neither revoked nor deleted. */
function usableUpstreamKey({ db }: AccountsDeps, projectId: string, keyId: string): void {
  const k = db.select().from(upstreamKeys).where(eq(upstreamKeys.id, keyId)).get();
  if (!k || k.projectId !== projectId) throw new GatewayError('unprocessable', `Upstream key ${keyId} does not belong to project ${projectId}.`);
  if (k.revokedAt !== null || k.deletedAt !== null) throw new GatewayError('unprocessable', `Upstream key ${keyId} is revoked or deleted.`);
}

export function setProjectDisabled(op: Operator, id: string, disabled: boolean): ProjectView {
  return mutate(op, disabled ? 'project.disable' : 'project.enable', (now) => {
    const before = notDeleted(projectRow(op, id), 'project', id);
    stamp(op.db, 'projects', 'disabled_at', id, disabled ? (before.disabledAt ?? now) : null, now);
    return changed('project', before, getProject(op, id), projectView);
  });
}

export function deleteProject(op: Operator, id: string): ProjectView {
  return mutate(op, 'project.delete', (now) => {
    const before = notDeleted(projectRow(op, id), 'project', id);
    retireProject(op, id, now);
    return changed('project', before, getProject(op, id), projectView);
  });
}

export function requireLiveProject(deps: AccountsDeps, id: string): ProjectRow {
  return notDeleted(projectRow(deps, id), 'project', id);
}
