import type { Statement } from 'better-sqlite3';
import type { Clock } from '../clock.js';
import type { Db } from '../db/client.js';
import type { Logger } from '../logger.js';
import type { FlushHook } from '../metering/recorder.js';
import { dataVersionReader } from '../db/data-version.js';

export interface ResourceOwner {
  tenantId: string;
  projectId: string;
  upstreamKeyId: string | null;
  usageRecordedAt: number | null;
  /** What the creating request asked for, metered when the resource finishes (Veo: seconds per video). */
  units?: number | null;
}

/**
 * Ownership of upstream resources. Reads come from memory (falling back to one indexed SQLite read
 * per unseen name); writes take effect in memory at once and reach SQLite through the usage
 * recorder's batch (`flushHook`), so the data plane never writes per request.
 */
export interface ResourceStore {
  owner(name: string): ResourceOwner | null;
  /** Records a resource a response just created; an existing owner is never replaced by a claim. */
  claim(name: string, owner: Omit<ResourceOwner, 'usageRecordedAt'>): void;
  /** Upstream deleted it. */
  forget(name: string): void;
  markUsageRecorded(name: string): void;
  /** An in-process write (admin API) changed it in SQLite: read it again next time. */
  invalidate(name: string): void;
  flushHook: FlushHook;
}

type Op = { kind: 'claim'; owner: ResourceOwner; at: number } | { kind: 'forget' } | { kind: 'metered'; at: number };

interface Row {
  tenant_id: string;
  project_id: string;
  upstream_key_id: string | null;
  usage_recorded_at: number | null;
  units: number | null;
}

/** `files/abc` → `files`; the kind column serves per-project listings. */
export const kindOf = (name: string): string => name.slice(0, name.indexOf('/'));

export function createResourceStore(db: Db, clock: Clock, log: Logger, maxCached = 50_000): ResourceStore {
  const select: Statement<[string], Row> = db.$client.prepare('SELECT tenant_id, project_id, upstream_key_id, usage_recorded_at, units FROM resources WHERE name = ?');
  const insert = db.$client.prepare(`INSERT INTO resources (name, kind, tenant_id, project_id, upstream_key_id, units, source, created_at, updated_at)
    VALUES (?, ?, ?, ?, ?, ?, 'created', ?, ?) ON CONFLICT(name) DO NOTHING`);
  const remove = db.$client.prepare('DELETE FROM resources WHERE name = ?');
  const metered = db.$client.prepare('UPDATE resources SET usage_recorded_at = ?, updated_at = ? WHERE name = ? AND usage_recorded_at IS NULL');
  const dataVersion = dataVersionReader(db);
  // Another process (the CLI's `resources assign`) committing moves data_version: drop what we cached.
  let seenVersion = dataVersion();
  const cache = new Map<string, ResourceOwner | null>();
  let pending = new Map<string, Op[]>();

  const push = (name: string, op: Op): void => {
    const ops = pending.get(name);
    if (ops) ops.push(op);
    else pending.set(name, [op]);
  };

  const lookup = (name: string): ResourceOwner | null => {
    const version = dataVersion();
    if (version !== seenVersion) {
      seenVersion = version;
      cache.clear();
    }
    if (cache.has(name)) return cache.get(name)!;
    const row = select.get(name);
    const owner = row ? toOwner(row) : null;
    if (cache.size >= maxCached) cache.clear();
    cache.set(name, owner);
    return owner;
  };

  return {
    owner(name) {
      const ops = pending.get(name);
      if (!ops) return lookup(name);
      // Replay unflushed ops over what SQLite holds (rare: only right after a create/delete).
      const row = select.get(name);
      let owner = row ? toOwner(row) : null;
      for (const op of ops) {
        if (op.kind === 'claim') owner ??= op.owner;
        else if (op.kind === 'forget') owner = null;
        else if (owner) owner = { ...owner, usageRecordedAt: owner.usageRecordedAt ?? op.at };
      }
      return owner;
    },
    claim(name, owner) {
      const existing = this.owner(name);
      if (existing && existing.projectId !== owner.projectId) {
        log.warn({ resource: name, owner: existing.projectId, claimant: owner.projectId }, 'resource already owned by another project; claim ignored');
        return;
      }
      if (existing) return;
      push(name, { kind: 'claim', owner: { ...owner, usageRecordedAt: null }, at: clock.now() });
      cache.delete(name);
    },
    forget(name) {
      push(name, { kind: 'forget' });
      cache.delete(name);
    },
    markUsageRecorded(name) {
      push(name, { kind: 'metered', at: clock.now() });
      cache.delete(name);
    },
    invalidate(name) {
      cache.delete(name);
    },
    flushHook: Object.assign(
      () => {
        const now = clock.now();
        for (const [name, ops] of pending) {
          for (const op of ops) {
            if (op.kind === 'claim') insert.run(name, kindOf(name), op.owner.tenantId, op.owner.projectId, op.owner.upstreamKeyId, op.owner.units ?? null, op.at, op.at);
            else if (op.kind === 'forget') remove.run(name);
            else metered.run(op.at, now, name);
          }
        }
      },
      {
        // Every op is idempotent: after a rollback they are simply written again with the next batch.
        afterCommit: () => {
          if (pending.size > 0) pending = new Map();
        },
      },
    ),
  };
}

function toOwner(row: Row): ResourceOwner {
  return { tenantId: row.tenant_id, projectId: row.project_id, upstreamKeyId: row.upstream_key_id, usageRecordedAt: row.usage_recorded_at, units: row.units };
}
