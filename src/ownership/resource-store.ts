import type { Clock } from '../clock.js';
import type { Db } from '../db/client.js';
import type { Logger } from '../logger.js';
import type { LedgerSide } from '../ledger/batch.js';
import { dataVersionReader } from '../db/data-version.js';
import { query } from '../db/dialect.js';
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
 * Ownership of upstream resources. Reads come from memory: `load` reads the names a request is
 * about (one indexed query per name not in memory, or changed since by another process), then
 * `owner` answers synchronously. Writes take effect in memory at once and reach the database with the
 * ledger's next batch (`ledgerSide`), so the data plane never writes per request.
 */
export interface ResourceStore {
  /** Brings these names' stored owners into memory (re-reading those read before another process's last change). */
  load(names: readonly string[]): Promise<void>;
  /** The owner as far as this process knows: what was loaded, with this process's unwritten changes applied. */
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
  const SELECT = 'SELECT tenant_id, project_id, upstream_key_id, usage_recorded_at, units, key_id FROM resources WHERE name = ?';
  const dataVersion = dataVersionReader(db);
  // What the database held when last read, and at which data version: another process (the CLI's
  // `resources assign`, another gateway) committing moves the version, and load() reads such names again.
  const stored = new Map<string, { owner: ResourceOwner | null; version: number }>();
  let pending = new Map<string, Op[]>();
  // Ops handed to a ledger batch that has not committed yet: still replayed over what was read.
  let inFlight = new Map<string, Op[]>();
  // Ledger commits so far: a read that a commit overtook (Postgres answers asynchronously) is read again.
  let commits = 0;

  const push = (name: string, op: Op): void => {
    const ops = pending.get(name);
    if (ops) ops.push(op);
    else pending.set(name, [op]);
  };

  const replay = (owner: ResourceOwner | null, ops: readonly Op[]): ResourceOwner | null => {
    for (const op of ops) {
      if (op.kind === 'claim') owner ??= op.owner;
      else if (op.kind === 'forget') owner = null;
      else if (owner) owner = { ...owner, usageRecordedAt: owner.usageRecordedAt ?? op.at };
    }
    return owner;
  };

  const remember = (name: string, owner: ResourceOwner | null, version: number): void => {
    if (stored.size >= maxCached && !stored.has(name)) stored.clear();
    stored.set(name, { owner, version });
  };

  return {
    async load(names) {
      const version = dataVersion();
      for (const name of names) {
        if (stored.get(name)?.version === version) continue;
        let row: Row | undefined;
        for (let seen = -1; seen !== commits; ) {
          seen = commits;
          [row] = await query<Row>(db, SELECT, [name]);
        }
        remember(name, row ? toOwner(row) : null, version);
      }
    },
    owner(name) {
      const base = stored.get(name)?.owner ?? null;
      const sent = inFlight.get(name);
      const queued = pending.get(name);
      if (!sent && !queued) return base;
      return replay(base, sent && queued ? [...sent, ...queued] : (sent ?? queued)!);
    },
    claim(name, owner) {
      const existing = this.owner(name);
      if (existing && existing.projectId !== owner.projectId) {
        log.warn({ resource: name, owner: existing.projectId, claimant: owner.projectId }, 'resource already owned by another project; claim ignored');
        return;
      }
      if (existing) return;
      push(name, { kind: 'claim', owner: { ...owner, usageRecordedAt: null }, at: clock.now() });
    },
    forget(name) {
      push(name, { kind: 'forget' });
    },
    markUsageRecorded(name) {
      push(name, { kind: 'metered', at: clock.now() });
    },
    invalidate(name) {
      stored.delete(name);
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
        if (inFlight.size === 0) return;
        // The database now holds these ops: fold them into what we remember of it. Marked as read at
        // an old version, so the next load() reads the row as written (a claim may have lost to an owner).
        for (const [name, ops] of inFlight) remember(name, replay(stored.get(name)?.owner ?? null, ops), Number.NaN);
        inFlight = new Map();
        commits++;
      },
    },
  };
}

function toOwner(row: Row): ResourceOwner {
  return { tenantId: row.tenant_id, projectId: row.project_id, upstreamKeyId: row.upstream_key_id, usageRecordedAt: row.usage_recorded_at, units: row.units, keyId: row.key_id };
}
