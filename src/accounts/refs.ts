import { inArray, sql, type AnyColumn, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { inJsonList, query } from '../db/dialect.js';

/**
 * What a `tenant` or `project` filter names, the same on every admin and self-service list: an id
 * (`ten_…`, `prj_…`) or a slug. Slugs are reused after deletion and project slugs are unique only
 * within a tenant, so a slug names a set; a handle that names nothing gives an empty set (no rows,
 * never an error, so a filter cannot probe what exists).
 */
export async function tenantIdsOf(db: Db, ref: string): Promise<string[]> {
  if (ref.startsWith('ten_')) return [ref];
  return (await query<{ id: string }>(db, 'SELECT id FROM tenants WHERE slug = ?', [ref])).map((r) => r.id);
}

/** Project ids for a `project` filter; a slug is looked up within `tenantIds` when a tenant filter was given. */
export async function projectIdsOf(db: Db, ref: string, tenantIds?: string[]): Promise<string[]> {
  if (ref.startsWith('prj_')) return [ref];
  const rows = tenantIds
    ? await query<{ id: string }>(db, `SELECT id FROM projects WHERE slug = ? AND ${inJsonList(db, 'tenant_id')}`, [ref, JSON.stringify(tenantIds)])
    : await query<{ id: string }>(db, 'SELECT id FROM projects WHERE slug = ?', [ref]);
  return rows.map((r) => r.id);
}

/** The `tenant`/`project` filters every list takes. */
export interface OwnerFilter {
  tenant?: string | undefined;
  project?: string | undefined;
}

/** Both filters resolved to id sets (undefined: not filtered). */
export async function ownerIds(db: Db, f: OwnerFilter): Promise<{ tenantIds?: string[]; projectIds?: string[] }> {
  const tenantIds = f.tenant !== undefined ? await tenantIdsOf(db, f.tenant) : undefined;
  const projectIds = f.project !== undefined ? await projectIdsOf(db, f.project, tenantIds) : undefined;
  return { ...(tenantIds && { tenantIds }), ...(projectIds && { projectIds }) };
}

/** The list filters as SQL over a table's tenant and project columns (an unknown handle matches nothing). */
export async function ownerWhere(db: Db, f: OwnerFilter, cols: { tenantId: AnyColumn; projectId?: AnyColumn }): Promise<SQL[]> {
  const { tenantIds, projectIds } = await ownerIds(db, f);
  const within = (col: AnyColumn, list: string[]) => (list.length ? inArray(col, list) : sql`1 = 0`);
  return [
    ...(tenantIds ? [within(cols.tenantId, tenantIds)] : []),
    ...(projectIds && cols.projectId ? [within(cols.projectId, projectIds)] : []),
  ];
}
