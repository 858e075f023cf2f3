import { and, eq, isNotNull, isNull, sql, type SQL } from 'drizzle-orm';
import { listPage, type ListQuery, type Page } from '../db/pagination.js';
import { newId } from '../auth/keys.js';
import type { projects, tenants } from '../db/schema/index.js';
import { tablesOf } from '../db/dialect.js';
import { GatewayError } from '../errors.js';
import { conflictOnDuplicate, found, iso, isoOrNull, mutate, notDeleted, parseLabels, stamp, type AccountsDeps, type Operator } from './context.js';
import type { TenantCreate, TenantUpdate, TenantView } from './schemas.js';

type TenantRow = typeof tenants.$inferSelect;

export function containerStatus(r: { disabledAt: number | null; deletedAt: number | null }): 'active' | 'disabled' | 'deleted' {
  return r.deletedAt !== null ? 'deleted' : r.disabledAt !== null ? 'disabled' : 'active';
}

/** Status filter shared by tenants and projects: default hides deleted ones. */
export function containerStatusWhere(t: typeof tenants | typeof projects, status: string | undefined): SQL | undefined {
  if (status === 'deleted') return isNotNull(t.deletedAt);
  if (status === 'disabled') return and(isNull(t.deletedAt), isNotNull(t.disabledAt));
  if (status === 'active') return and(isNull(t.deletedAt), isNull(t.disabledAt));
  return isNull(t.deletedAt);
}

export function tenantView(r: TenantRow): TenantView {
  return {
    id: r.id, slug: r.slug, name: r.name, labels: parseLabels(r.labels), status: containerStatus(r),
    createdAt: iso(r.createdAt), updatedAt: iso(r.updatedAt), disabledAt: isoOrNull(r.disabledAt), deletedAt: isoOrNull(r.deletedAt),
  };
}

/** By id (`ten_…`) or by slug (live tenants only). */
export async function tenantRow({ db }: AccountsDeps, ref: string): Promise<TenantRow> {
  const { tenants } = tablesOf(db);
  const where = ref.startsWith('ten_') ? eq(tenants.id, ref) : and(eq(tenants.slug, ref), isNull(tenants.deletedAt));
  return found((await db.select().from(tenants).where(where).limit(1))[0], 'tenant', ref);
}

export const getTenant = async (deps: AccountsDeps, ref: string): Promise<TenantView> => tenantView(await tenantRow(deps, ref));

export function listTenants({ db }: AccountsDeps, q: ListQuery & { status?: string }): Promise<Page<TenantView>> {
  const { tenants } = tablesOf(db);
  return listPage(db, db.select().from(tenants).$dynamic(), tenants, q, [containerStatusWhere(tenants, q.status)], tenantView);
}

export function createTenant(op: Operator, input: TenantCreate): Promise<TenantView> {
  return mutate(op, 'tenant.create', async (now, op) => {
    const { tenants } = tablesOf(op.db);
    const row: TenantRow = { id: newId('ten'), slug: input.slug, name: input.name ?? input.slug, labels: JSON.stringify(input.labels ?? {}), disabledAt: null, deletedAt: null, createdAt: now, updatedAt: now };
    await conflictOnDuplicate(`A tenant with slug "${input.slug}"`, async () => op.db.insert(tenants).values(row));
    const view = tenantView(row);
    return { target: { type: 'tenant', id: row.id }, before: null, after: view, result: view };
  });
}

export function updateTenant(op: Operator, ref: string, patch: TenantUpdate): Promise<TenantView> {
  return mutate(op, 'tenant.update', async (now, op) => {
    const { tenants } = tablesOf(op.db);
    const before = notDeleted(await tenantRow(op, ref), 'tenant', ref);
    await op.db
      .update(tenants)
      .set({ name: patch.name ?? before.name, labels: patch.labels ? JSON.stringify(patch.labels) : before.labels, updatedAt: now })
      .where(eq(tenants.id, before.id));
    return changed('tenant', before, await getTenant(op, before.id), tenantView);
  });
}

/** Disabling stops every key under the tenant on the next request; enabling restores them. */
export function setTenantDisabled(op: Operator, ref: string, disabled: boolean): Promise<TenantView> {
  return mutate(op, disabled ? 'tenant.disable' : 'tenant.enable', async (now, op) => {
    const before = notDeleted(await tenantRow(op, ref), 'tenant', ref);
    await stamp(op.db, 'tenants', 'disabledAt', before.id, disabled ? (before.disabledAt ?? now) : null, now);
    return changed('tenant', before, await getTenant(op, before.id), tenantView);
  });
}

/** Soft delete, cascading to its projects (their keys stop for good); usage history keeps the ids. */
export function deleteTenant(op: Operator, ref: string): Promise<TenantView> {
  return mutate(op, 'tenant.delete', async (now, op) => {
    const { projects } = tablesOf(op.db);
    const before = notDeleted(await tenantRow(op, ref), 'tenant', ref);
    await stamp(op.db, 'tenants', 'deletedAt', before.id, now, now);
    const live = await op.db.select({ id: projects.id }).from(projects).where(and(eq(projects.tenantId, before.id), isNull(projects.deletedAt)));
    for (const p of live) await retireProject(op, p.id, now);
    return changed('tenant', before, await getTenant(op, before.id), tenantView);
  });
}

/** Marks a project deleted, revokes its keys and erases its stored upstream keys. Runs inside a mutation. */
export async function retireProject(op: AccountsDeps, projectId: string, now: number): Promise<void> {
  const { projects, apiKeys, upstreamKeys } = tablesOf(op.db);
  await stamp(op.db, 'projects', 'deletedAt', projectId, now, now);
  await op.db.update(projects).set({ upstreamKeyId: null }).where(eq(projects.id, projectId));
  await op.db
    .update(apiKeys)
    .set({ deletedAt: now, revokedAt: sql`coalesce(${apiKeys.revokedAt}, ${now})`, updatedAt: now })
    .where(and(eq(apiKeys.projectId, projectId), isNull(apiKeys.deletedAt)));
  await op.db
    .update(upstreamKeys)
    .set({ deletedAt: now, ciphertext: '', updatedAt: now })
    .where(and(eq(upstreamKeys.projectId, projectId), isNull(upstreamKeys.deletedAt)));
}

/** The audit change for an update-like mutation of a resource with a view mapper. */
export function changed<R extends { id: string }, V>(type: string, before: R, after: V, view: (r: R) => V) {
  return { target: { type, id: before.id }, before: view(before), after, result: after };
}

export async function requireLiveTenant(deps: AccountsDeps, ref: string): Promise<TenantRow> {
  const t = await tenantRow(deps, ref);
  if (t.deletedAt !== null) throw new GatewayError('unprocessable', `The tenant ${ref} was deleted.`);
  return t;
}
