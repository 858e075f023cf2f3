import { inArray, sql, type AnyColumn, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client.js';

/**
 * What a `tenant` or `project` filter names, the same on every admin and self-service list: an id
 * (`ten_…`, `prj_…`) or a slug. Slugs are reused after deletion and project slugs are unique only
 * within a tenant, so a slug names a set; a handle that names nothing gives an empty set (no rows,
 * never an error, so a filter cannot probe what exists).
 */
export function tenantIdsOf(db: Db, ref: string): string[] {
  if (ref.startsWith('ten_')) return [ref];
  return db.$client.prepare('SELECT id FROM tenants WHERE slug = ?').pluck().all(ref) as string[];
}

/** Project ids for a `project` filter; a slug is looked up within `tenantIds` when a tenant filter was given. */
export function projectIdsOf(db: Db, ref: string, tenantIds?: string[]): string[] {
  if (ref.startsWith('prj_')) return [ref];
  if (!tenantIds) return db.$client.prepare('SELECT id FROM projects WHERE slug = ?').pluck().all(ref) as string[];
  return db.$client
    .prepare('SELECT id FROM projects WHERE slug = ? AND tenant_id IN (SELECT value FROM json_each(?))')
    .pluck()
    .all(ref, JSON.stringify(tenantIds)) as string[];
}

/** The `tenant`/`project` filters every list takes. */
export interface OwnerFilter {
  tenant?: string | undefined;
  project?: string | undefined;
}

/** Both filters resolved to id sets (undefined: not filtered). */
export function ownerIds(db: Db, f: OwnerFilter): { tenantIds?: string[]; projectIds?: string[] } {
  const tenantIds = f.tenant !== undefined ? tenantIdsOf(db, f.tenant) : undefined;
  const projectIds = f.project !== undefined ? projectIdsOf(db, f.project, tenantIds) : undefined;
  return { ...(tenantIds && { tenantIds }), ...(projectIds && { projectIds }) };
}

/** The list filters as SQL over a table's tenant and project columns (an unknown handle matches nothing). */
export function ownerWhere(db: Db, f: OwnerFilter, cols: { tenantId: AnyColumn; projectId?: AnyColumn }): SQL[] {
  const { tenantIds, projectIds } = ownerIds(db, f);
  const within = (col: AnyColumn, list: string[]) => (list.length ? inArray(col, list) : sql`0`);
  return [
    ...(tenantIds ? [within(cols.tenantId, tenantIds)] : []),
    ...(projectIds && cols.projectId ? [within(cols.projectId, projectIds)] : []),
  ];
}
