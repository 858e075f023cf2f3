import type { Database } from 'better-sqlite3';
import { encodeUsageRow, INSERT_USAGE_EVENT_SQL } from '../metering/columns.js';
import type { UsageRow } from '../metering/row.js';
import { createCounterWriter } from '../quota/persist.js';
import { createRollupWriter } from '../usage/rollups.js';
import type { LedgerBatch } from './batch.js';
import { createUploadSessionPrune } from './upload-sessions.js';

// ON CONFLICT DO NOTHING on the row_key unique index: a batch sent twice (the worker died after
// COMMIT, before its reply) inserts nothing the second time, and only new rows are rolled up.
const INSERT_SQL = `${INSERT_USAGE_EVENT_SQL} ON CONFLICT (row_key) DO NOTHING`;

/**
 * The SQLite ledger transaction on a given connection: inserts the rows, then rolls up and counts
 * only those that were new, and applies the side records. Returns the number of new rows.
 */
export function createSqliteApplier(sqlite: Database): (batch: LedgerBatch) => number {
  const insert = sqlite.prepare(INSERT_SQL);
  const touchKey = sqlite.prepare('UPDATE api_keys SET last_used_at = max(coalesce(last_used_at, 0), ?) WHERE id = ?');
  const claim = sqlite.prepare(`INSERT INTO resources (name, kind, tenant_id, project_id, upstream_key_id, units, key_id, source, created_at, updated_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, 'created', ?, ?) ON CONFLICT(name) DO NOTHING`);
  const forget = sqlite.prepare('DELETE FROM resources WHERE name = ?');
  const metered = sqlite.prepare('UPDATE resources SET usage_recorded_at = ?, updated_at = ? WHERE name = ? AND usage_recorded_at IS NULL');
  const pruneUploads = sqlite.prepare("DELETE FROM resources WHERE kind = 'uploads' AND created_at < ?");
  const uploadsDue = createUploadSessionPrune();
  const rollups = createRollupWriter(sqlite);
  const counters = createCounterWriter(sqlite);

  return sqlite.transaction((batch: LedgerBatch): number => {
    const fresh: UsageRow[] = [];
    for (const r of batch.rows) {
      // Spread, not an array: better-sqlite3 binds an array element by element through V8's generic
      // property lookup, arguments directly (about 1 µs a row of ~40 columns).
      const { changes } = insert.run(...encodeUsageRow(r));
      if (changes > 0) fresh.push(r);
    }
    for (const [id, at] of batch.keyTouches) touchKey.run(at, id);
    // Every op is idempotent (claims never replace, forgets delete, metering sets only once), so replays are safe.
    for (const op of batch.resourceOps) {
      if (op.kind === 'claim') claim.run(op.name, op.resourceKind, op.tenantId, op.projectId, op.upstreamKeyId, op.units, op.keyId ?? null, op.at, op.at);
      else if (op.kind === 'forget') forget.run(op.name);
      else metered.run(op.at, batch.now, op.name);
    }
    const cutoff = uploadsDue(batch.now);
    if (cutoff !== null) pruneUploads.run(cutoff);
    if (fresh.length > 0) {
      counters(fresh);
      rollups(fresh);
    }
    return fresh.length;
  });
}

/**
 * SQLite refused the batch's contents rather than the write: a constraint (NOT NULL, CHECK, a
 * foreign key), a value too big or of the wrong type. Busy, read-only, full or I/O errors are not.
 */
export function refusedAsData(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^SQLITE_(CONSTRAINT|TOOBIG|MISMATCH|RANGE)/.test(code);
}
