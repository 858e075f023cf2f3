import { ownerIds } from '../accounts/refs.js';
import type { Db } from '../db/client.js';
import { inJsonList, query } from '../db/dialect.js';
import type { Outcome } from '../metering/row.js';

/** Filters as the caller gave them: ids (`ten_…`, `prj_…`, `key_…`) or human handles (slugs, key prefix). */
export interface UsageFilters {
  tenant?: string;
  project?: string;
  key?: string;
  model?: string;
  endpoint?: string;
  outcome?: Outcome;
}

/** A SQL fragment over a table with tenant_id, project_id, key_id, model, endpoint and outcome columns. */
export interface Where {
  sql: string;
  params: unknown[];
  /** Columns the terms read: a rollup grain can serve the query only if it keeps them all. */
  columns: string[];
}

/**
 * Resolves filters to ids and builds the WHERE terms. A handle that names nothing matches no rows
 * rather than failing, so a self-service caller cannot probe which other projects exist.
 * `scopeProjectId` (self-service) is ANDed with whatever project filter was asked for.
 */
export async function filterWhere(db: Db, f: UsageFilters, scopeProjectId?: string): Promise<Where> {
  const terms: string[] = [];
  const params: unknown[] = [];
  const columns: string[] = [];
  const ids = (col: string, list: string[]) => {
    columns.push(col);
    terms.push(list.length === 1 ? `${col} = ?` : inJsonList(db, col));
    params.push(list.length === 1 ? list[0] : JSON.stringify(list));
  };

  const { tenantIds, projectIds: named } = await ownerIds(db, f);
  if (tenantIds) ids('tenant_id', tenantIds);
  const projectIds = scopeProjectId === undefined ? named : named ? named.filter((p) => p === scopeProjectId) : [scopeProjectId];
  if (projectIds) ids('project_id', projectIds);
  if (f.key !== undefined) {
    ids('key_id', f.key.startsWith('key_') ? [f.key] : (await query<{ id: string }>(db, 'SELECT id FROM api_keys WHERE prefix = ?', [f.key])).map((r) => r.id));
  }
  for (const [col, v] of [['model', f.model], ['endpoint', f.endpoint], ['outcome', f.outcome]] as const) {
    if (v === undefined) continue;
    columns.push(col);
    terms.push(`${col} = ?`);
    params.push(v);
  }
  // An empty id list can never match: say so once instead of binding an empty IN ().
  const empty = [tenantIds, projectIds].some((l) => l?.length === 0);
  return empty ? { sql: '1 = 0', params: [], columns: [] } : { sql: terms.join(' AND ') || '1 = 1', params, columns };
}

export interface DisplayNames {
  tenant(id: string): string | null;
  project(id: string): string | null;
  key(id: string): string | null;
}

/** Slugs and key prefixes for the ids in a result, looked up in three small queries. */
export async function loadDisplayNames(db: Db, rows: readonly { tenant_id?: string; project_id?: string; key_id?: string }[]): Promise<DisplayNames> {
  const lookup = async (table: string, col: string, field: 'tenant_id' | 'project_id' | 'key_id') => {
    const wanted = [...new Set(rows.map((r) => r[field]).filter((v): v is string => typeof v === 'string'))];
    if (wanted.length === 0) return new Map<string, string>();
    const found = await query<{ id: string; label: string }>(db, `SELECT id, ${col} AS label FROM ${table} WHERE ${inJsonList(db, 'id')}`, [JSON.stringify(wanted)]);
    return new Map(found.map((r) => [r.id, r.label]));
  };
  const t = await lookup('tenants', 'slug', 'tenant_id');
  const p = await lookup('projects', 'slug', 'project_id');
  const k = await lookup('api_keys', 'prefix', 'key_id');
  return { tenant: (id) => t.get(id) ?? null, project: (id) => p.get(id) ?? null, key: (id) => k.get(id) ?? null };
}
