import type { Statement } from 'better-sqlite3';
import type { Clock } from '../clock.js';
import type { Db } from '../db/client.js';
import type { Logger } from '../logger.js';
import type { LedgerSide } from '../ledger/batch.js';
import { dataVersionReader } from '../db/data-version.js';
import { kindOf } from './kinds.js';

export interface ResourceOwner {
  tenantId: string;
  projectId: string;
  upstreamKeyId: string | null;
  usageRecordedAt: number | null;
  /** What the creating request asked for, metered when the resource finishes (Veo: seconds per video). */
  units?: number | null;
  /** The gateway key whose request created it; null when an admin assigned it. */
  keyId?: string | null;
}

/**
 * Ownership of upstream resources. Reads come from memory (falling back to one indexed SQLite read
 * per unseen name); writes take effect in memory at once and reach SQLite with the ledger's next
 * batch (`ledgerSide`), so the data plane never writes per request.
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
  /** Hands pending changes to the ledger's batch and keeps serving them from memory until it commits. */
  ledgerSide: LedgerSide;
}

type Op = { kind: 'claim'; owner: ResourceOwner; at: number } | { kind: 'forget' } | { kind: 'metered'; at: number };

interface Row {
  tenant_id: string;
  project_id: string;
  upstream_key_id: string | null;
  usage_recorded_at: number | null;
  units: number | null;
  key_id: string | null;
}


export function createResourceStore(db: Db, clock: Clock, log: Logger, maxCached = 50_000): ResourceStore {
  const select: Statement<[string], Row> = db.$client.prepare('SELECT tenant_id, project_id, upstream_key_id, usage_recorded_at, units, key_id FROM resources WHERE name = ?');
  const dataVersion = dataVersionReader(db);
  // Another process (the CLI's `resources assign`) committing moves data_version: drop what we cached.
  let seenVersion = dataVersion();
  const cache = new Map<string, ResourceOwner | null>();
  let pending = new Map<string, Op[]>();
  // Ops handed to a ledger batch that has not committed yet: still replayed over what SQLite holds.
  let inFlight = new Map<string, Op[]>();

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
      const sent = inFlight.get(name);
      const queued = pending.get(name);
      if (!sent && !queued) return lookup(name);
      const ops = sent && queued ? [...sent, ...queued] : (sent ?? queued)!;
      // Replay unwritten ops over what SQLite holds (rare: only right after a create/delete).
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
    ledgerSide: {
      take(batch) {
        for (const [name, ops] of pending) {
          for (const op of ops) {
            if (op.kind === 'claim') batch.resourceOps.push({ kind: 'claim', name, resourceKind: kindOf(name), tenantId: op.owner.tenantId, projectId: op.owner.projectId, upstreamKeyId: op.owner.upstreamKeyId, units: op.owner.units ?? null, keyId: op.owner.keyId ?? null, at: op.at });
            else if (op.kind === 'forget') batch.resourceOps.push({ kind: 'forget', name });
            else batch.resourceOps.push({ kind: 'metered', name, at: op.at });
          }
          const sent = inFlight.get(name);
          if (sent) sent.push(...ops);
          else inFlight.set(name, ops);
        }
        if (pending.size > 0) pending = new Map();
      },
      committed() {
        if (inFlight.size > 0) inFlight = new Map();
      },
    },
  };
}

function toOwner(row: Row): ResourceOwner {
  return { tenantId: row.tenant_id, projectId: row.project_id, upstreamKeyId: row.upstream_key_id, usageRecordedAt: row.usage_recorded_at, units: row.units, keyId: row.key_id };
}
