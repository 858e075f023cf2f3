import { getTableColumns, getTableName, type Table } from 'drizzle-orm';
import { quotaCounters, usageEvents, usageRollupsDaily, usageRollupsHourly, usageRollupsMonthly } from '../db/schema-pg/index.js';
import { USAGE_EVENT_COLUMNS } from '../metering/columns.js';
import { GRAINS, MAX_COLUMNS, ROLLUP_KEYS, SUM_COLUMNS, type Grain } from '../usage/rollups.js';

/**
 * The Postgres ledger's statements. Every multi-row statement takes one array parameter per column
 * and reads the rows back with `unnest`: the parameter count does not grow with the batch (no
 * 65,535-parameter ceiling) and the server plans each statement once per connection.
 * Array element types come from the pg schema, so a new column needs no second list here.
 */

/** `$n::type[]` casts for the given columns of a pg table, in the given order, numbered from first. */
function arrayCasts(table: Table, columns: readonly string[], first = 1): string[] {
  const types = new Map(Object.values(getTableColumns(table)).map((c) => [c.name, c.getSQLType()]));
  return columns.map((name, i) => {
    const type = types.get(name);
    if (!type) throw new Error(`${getTableName(table)} has no column ${name}`);
    return `$${i + first}::${type}[]`;
  });
}

const EVENT_COLUMNS = USAGE_EVENT_COLUMNS.map((c) => c.column);

/** Inserts the batch; a row whose row_key is already stored is skipped, and only new rows come back. */
export const INSERT_EVENTS_SQL = `INSERT INTO usage_events (${EVENT_COLUMNS.join(', ')})
  SELECT * FROM unnest(${arrayCasts(usageEvents, EVENT_COLUMNS).join(', ')})
  ON CONFLICT (row_key) DO NOTHING RETURNING row_key`;

/** last_used_at only moves forward; a touch that would not move it writes nothing (no dead tuple, no WAL). */
export const TOUCH_KEYS_SQL = `UPDATE api_keys AS k SET last_used_at = t.at
  FROM unnest($1::text[], $2::bigint[]) AS t(id, at)
  WHERE k.id = t.id AND (k.last_used_at IS NULL OR k.last_used_at < t.at)`;

export const CLAIM_RESOURCE_SQL = `INSERT INTO resources (name, kind, tenant_id, project_id, upstream_key_id, units, key_id, source, created_at, updated_at)
  VALUES ($1, $2, $3, $4, $5, $6, $8, 'created', $7, $7) ON CONFLICT (name) DO NOTHING`;
export const FORGET_RESOURCE_SQL = 'DELETE FROM resources WHERE name = $1';
export const METERED_RESOURCE_SQL = 'UPDATE resources SET usage_recorded_at = $1, updated_at = $2 WHERE name = $3 AND usage_recorded_at IS NULL';

const COUNTER_KEYS = ['project_id', 'dimension', 'value', 'window_kind', 'window_start'];
const COUNTER_COLUMNS = [...COUNTER_KEYS, 'tokens', 'requests'];

/** Abandoned resumable upload sessions (upload-sessions.ts). */
export const PRUNE_UPLOADS_SQL = "DELETE FROM resources WHERE kind = 'uploads' AND created_at < $1";

export const PRUNE_COUNTERS_SQL = `DELETE FROM quota_counters AS q USING unnest($1::text[], $2::bigint[]) AS p(kind, before)
  WHERE q.window_kind = p.kind AND q.window_start < p.before`;

// The rollup tables' shared column builders leave a column's name `unknown` to the type checker; only their SQL names are read here.
const ROLLUP_TABLES = { h: usageRollupsHourly, d: usageRollupsDaily, m: usageRollupsMonthly } as unknown as Record<Grain, Table>;

/** The rollup columns in the order of an accumulator (usage/rollups.ts): keys, tenant, sums, maxima. */
export const rollupColumns = (grain: Grain): string[] => ['bucket_start', ...ROLLUP_KEYS[grain], 'tenant_id', ...SUM_COLUMNS, ...MAX_COLUMNS];

function upsertRollup(grain: Grain, first: number): string {
  const table = ROLLUP_TABLES[grain];
  const cols = rollupColumns(grain);
  const keys = ['bucket_start', ...ROLLUP_KEYS[grain]];
  return `INSERT INTO ${getTableName(table)} AS t (${cols.join(', ')})
  SELECT * FROM unnest(${arrayCasts(table, cols, first).join(', ')})
  ON CONFLICT (${keys.join(', ')}) DO UPDATE SET
  ${SUM_COLUMNS.map((c) => `${c} = t.${c} + excluded.${c}`).join(', ')},
  ${MAX_COLUMNS.map((c) => `${c} = GREATEST(t.${c}, excluded.${c})`).join(', ')}`;
}

function upsertCounters(first: number): string {
  return `INSERT INTO quota_counters AS q (${COUNTER_COLUMNS.join(', ')})
  SELECT * FROM unnest(${arrayCasts(quotaCounters, COUNTER_COLUMNS, first).join(', ')})
  ON CONFLICT (${COUNTER_KEYS.join(', ')}) DO UPDATE SET tokens = q.tokens + excluded.tokens, requests = q.requests + excluded.requests`;
}

/**
 * The quota counters and the three rollup grains in one statement (one round trip instead of four):
 * data-modifying CTEs over different tables, each key at most once per table (the cells and the
 * accumulators are already summed per key). Parameters: the counter cells' 7 columns, then each
 * grain's rollupColumns; an empty set of arrays upserts nothing.
 */
export const UPSERT_TOTALS_SQL = (() => {
  let next = 1 + COUNTER_COLUMNS.length;
  const parts = GRAINS.map((g) => {
    const sql = upsertRollup(g, next);
    next += rollupColumns(g).length;
    return sql;
  });
  return `WITH counters AS (${upsertCounters(1)}),
  rollup_h AS (${parts[0]}),
  rollup_d AS (${parts[1]})
  ${parts[2]}`;
})();
