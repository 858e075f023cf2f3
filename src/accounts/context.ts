import type { Actor } from '../audit/audit-log.js';
import { recordAudit } from '../audit/audit-log.js';
import type { Clock } from '../clock.js';
import type { SecretBox } from '../crypto/secret-box.js';
import type { Db } from '../db/client.js';
import { isUniqueViolation, tablesOf, transaction } from '../db/dialect.js';
import { eq } from 'drizzle-orm';
import { GatewayError } from '../errors.js';

/** What the account services read with; built once by the admin app or the CLI. */
export interface AccountsDeps {
  db: Db;
  clock: Clock;
  /** Unset/null when GATEWAY_SECRET is unset: storing upstream keys is then refused. */
  box?: SecretBox | null;
  /** Called after every committed change so in-process caches (the key resolver) see it at once. */
  onChange?: () => void;
}

/** A mutation's caller: who, for the audit log. */
export interface Operator extends AccountsDeps {
  actor: Actor;
  requestId?: string | null;
}

export interface Change<T> {
  target: { type: string; id: string };
  before: unknown;
  after: unknown;
  result: T;
}

/**
 * Runs one change and its audit row in a single transaction, then tells caches. Every mutation of
 * tenants, projects, keys and upstream keys goes through here, so none can skip the audit log.
 * fn gets the operator bound to the transaction: every query inside must go through it.
 */
export async function mutate<T>(op: Operator, action: string, fn: (now: number, tx: Operator) => Promise<Change<T>>): Promise<T> {
  const now = op.clock.now();
  const result = await transaction(op.db, async (db) => {
    const tx = { ...op, db };
    const c = await fn(now, tx);
    await recordAudit(db, { actor: op.actor, action, target: c.target, before: c.before, after: c.after, at: now, requestId: op.requestId });
    return c.result;
  });
  op.onChange?.();
  return result;
}

export const isoOrNull = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
export const iso = (ms: number): string => new Date(ms).toISOString();

export function parseLabels(json: string): Record<string, string> {
  try {
    const v = JSON.parse(json) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, string>) : {};
  } catch {
    return {};
  }
}

/** Maps a unique-index violation to 409 with a message naming what is taken. */
export async function conflictOnDuplicate<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isUniqueViolation(err)) throw new GatewayError('conflict', `${what} already exists.`);
    throw err;
  }
}


type Table = 'tenants' | 'projects' | 'apiKeys' | 'upstreamKeys';
type Stamp = 'disabledAt' | 'deletedAt' | 'revokedAt';

/** Sets or clears one lifecycle timestamp; the table and column come from these fixed unions, never from input. */
export async function stamp(db: Db, table: Table, column: Stamp, id: string, value: number | null, now: number): Promise<void> {
  const t = tablesOf(db)[table];
  await db.update(t).set({ [column]: value, updatedAt: now }).where(eq(t.id, id));
}

/** 404 unless the row exists; a soft-deleted row still exists (it can be read, not changed). */
export function found<T>(row: T | undefined, what: string, id: string): T {
  if (!row) throw new GatewayError('not_found', `No ${what} with id ${id}.`);
  return row;
}

/** 422 for changes to something already deleted: deletion is final. */
export function notDeleted<T extends { deletedAt: number | null }>(row: T, what: string, id: string): T {
  if (row.deletedAt !== null) throw new GatewayError('unprocessable', `The ${what} ${id} was deleted; deleted objects cannot be changed.`);
  return row;
}
