import { and, eq, getTableColumns, gt, isNotNull, isNull, lte, or, type SQL } from 'drizzle-orm';
import { listPage, type ListQuery, type Page } from '../db/pagination.js';
import { recordAudit } from '../audit/audit-log.js';
import { generateKey, newId } from '../auth/keys.js';
import type { apiKeys } from '../db/schema/index.js';
import type { Db } from '../db/client.js';
import { tablesOf } from '../db/dialect.js';
import { GatewayError } from '../errors.js';
import { ownerWhere, type OwnerFilter } from './refs.js';
import { found, iso, isoOrNull, mutate, parseLabels, stamp, type AccountsDeps, type Operator } from './context.js';
import { DEFAULT_OVERLAP_SECONDS, type IssuedKey, type KeyCreate, type KeyUpdate, type KeyView, type Scopes } from './key-schemas.js';
import { requireLiveProject } from './projects.js';
import { changed } from './tenants.js';

function selectKeys(db: Db) {
  const { apiKeys, projects } = tablesOf(db);
  return db.select({ ...getTableColumns(apiKeys), tenantId: projects.tenantId }).from(apiKeys).innerJoin(projects, eq(projects.id, apiKeys.projectId));
}
type KeyRow = typeof apiKeys.$inferSelect & { tenantId: string };
type Status = KeyView['status'];

export function keyStatus(r: KeyRow, now: number): Status {
  if (r.deletedAt !== null) return 'deleted';
  if (r.revokedAt !== null && r.revokedAt <= now) return 'revoked';
  if (r.disabledAt !== null) return 'disabled';
  if (r.expiresAt !== null && r.expiresAt <= now) return 'expired';
  return 'active';
}

function statusWhere(db: Db, status: string | undefined, now: number): SQL | undefined {
  const { apiKeys } = tablesOf(db);
  const live = and(isNull(apiKeys.deletedAt), isNull(apiKeys.revokedAt));
  const unexpired = or(isNull(apiKeys.expiresAt), gt(apiKeys.expiresAt, now));
  switch (status) {
    case 'deleted': return isNotNull(apiKeys.deletedAt);
    case 'revoked': return and(isNull(apiKeys.deletedAt), isNotNull(apiKeys.revokedAt));
    case 'disabled': return and(live, isNotNull(apiKeys.disabledAt));
    case 'expired': return and(live, isNull(apiKeys.disabledAt), lte(apiKeys.expiresAt, now));
    case 'active': return and(live, isNull(apiKeys.disabledAt), unexpired);
    default: return isNull(apiKeys.deletedAt);
  }
}

function parseScopes(json: string): Scopes {
  try {
    return JSON.parse(json) as Scopes;
  } catch {
    return {};
  }
}

export function keyView(r: KeyRow, now: number): KeyView {
  return {
    id: r.id, projectId: r.projectId, tenantId: r.tenantId, name: r.name, prefix: r.prefix, labels: parseLabels(r.labels), scopes: parseScopes(r.scopes),
    status: keyStatus(r, now), expiresAt: isoOrNull(r.expiresAt), revokedAt: isoOrNull(r.revokedAt), disabledAt: isoOrNull(r.disabledAt),
    deletedAt: isoOrNull(r.deletedAt), lastUsedAt: isoOrNull(r.lastUsedAt), replacedBy: r.replacedBy, createdAt: iso(r.createdAt), updatedAt: iso(r.updatedAt),
  };
}

async function keyRow({ db }: AccountsDeps, id: string): Promise<KeyRow> {
  const { apiKeys } = tablesOf(db);
  return found((await selectKeys(db).where(eq(apiKeys.id, id)).limit(1))[0], 'key', id);
}

export const getKey = async (deps: AccountsDeps, id: string): Promise<KeyView> => keyView(await keyRow(deps, id), deps.clock.now());

export async function listKeys(deps: AccountsDeps, q: ListQuery & OwnerFilter & { status?: string }): Promise<Page<KeyView>> {
  const { apiKeys, projects } = tablesOf(deps.db);
  const now = deps.clock.now();
  const filters = [...(await ownerWhere(deps.db, q, { tenantId: projects.tenantId, projectId: apiKeys.projectId })), statusWhere(deps.db, q.status, now)];
  return listPage(deps.db, selectKeys(deps.db).$dynamic(), apiKeys, q, filters, (r) => keyView(r, now));
}

const toMs = (t: string | null | undefined): number | null | undefined => (t === undefined ? undefined : t === null ? null : Date.parse(t));

/**
 * A key given an expiry that has already passed is dead on arrival: most likely a mistyped date.
 * A key is expired once `expiresAt <= now` on the gateway's clock (keyStatus, the resolver), so the
 * expiry must be later than now, with no allowance for clock skew: any allowance would let exactly
 * such a key through. To stop a key now there are disable and revoke.
 */
function requireFutureExpiry(expiresAt: number | null | undefined, now: number): void {
  if (expiresAt === undefined || expiresAt === null || expiresAt > now) return;
  throw new GatewayError(
    'invalid_argument',
    `expiresAt ${new Date(expiresAt).toISOString()} is in the past (now: ${new Date(now).toISOString()}); it must be later than now. Omit it for a key that does not expire; disable or revoke a key to stop it now.`,
  );
}

/** Inserts a key row; the secret exists only in the return value. Runs inside a mutation. */
async function insertKey(op: AccountsDeps, projectId: string, fields: { name: string; labels: string; scopes: string; expiresAt: number | null }, now: number): Promise<IssuedKey> {
  const { apiKeys } = tablesOf(op.db);
  const k = generateKey();
  const id = newId('key');
  await op.db.insert(apiKeys).values({ id, projectId, prefix: k.prefix, hash: k.hash, ...fields, createdAt: now, updatedAt: now });
  return { key: keyView(await keyRow(op, id), now), secret: k.secret };
}

export function createKey(op: Operator, input: KeyCreate): Promise<IssuedKey> {
  return mutate(op, 'key.create', async (now, op) => {
    const expiresAt = toMs(input.expiresAt) ?? null;
    requireFutureExpiry(expiresAt, now);
    const project = await requireLiveProject(op, input.projectId);
    const issued = await insertKey(op, project.id, {
      name: input.name ?? '', labels: JSON.stringify(input.labels ?? {}), scopes: JSON.stringify(input.scopes ?? {}), expiresAt,
    }, now);
    return { target: { type: 'key', id: issued.key.id }, before: null, after: issued.key, result: issued };
  });
}

/** A key that may still change: not deleted, not revoked. */
async function mutableKey(op: AccountsDeps, id: string, now: number): Promise<KeyRow> {
  const r = await keyRow(op, id);
  const s = keyStatus(r, now);
  if (s === 'deleted' || s === 'revoked') throw new GatewayError('unprocessable', `The key ${id} is ${s}; it cannot be changed.`);
  return r;
}

export function updateKey(op: Operator, id: string, patch: KeyUpdate): Promise<KeyView> {
  return mutate(op, 'key.update', async (now, op) => {
    const { apiKeys } = tablesOf(op.db);
    const expiresAt = toMs(patch.expiresAt);
    requireFutureExpiry(expiresAt, now);
    const before = await mutableKey(op, id, now);
    // A rotated secret lives only for its overlap (rotateKey set its expiry): bringing that end
    // forward is fine, pushing it back or clearing it would revive a secret its team was told to drop.
    if (before.replacedBy !== null && expiresAt !== undefined && (expiresAt === null || before.expiresAt === null || expiresAt > before.expiresAt)) {
      throw new GatewayError('unprocessable', `The key ${id} was rotated; its old secret stops at ${isoOrNull(before.expiresAt)} and cannot be extended. Use its replacement ${before.replacedBy}.`);
    }
    await op.db
      .update(apiKeys)
      .set({
        name: patch.name ?? before.name,
        labels: patch.labels ? JSON.stringify(patch.labels) : before.labels,
        scopes: patch.scopes ? JSON.stringify(patch.scopes) : before.scopes,
        expiresAt: expiresAt === undefined ? before.expiresAt : expiresAt,
        updatedAt: now,
      })
      .where(eq(apiKeys.id, id));
    return changed('key', before, keyView(await keyRow(op, id), now), (r) => keyView(r, now));
  });
}

export function setKeyDisabled(op: Operator, id: string, disabled: boolean): Promise<KeyView> {
  return mutate(op, disabled ? 'key.disable' : 'key.enable', async (now, op) => {
    const { apiKeys } = tablesOf(op.db);
    const before = await mutableKey(op, id, now);
    await stamp(op.db, 'apiKeys', 'disabledAt', id, disabled ? (before.disabledAt ?? now) : null, now);
    return changed('key', before, keyView(await keyRow(op, id), now), (r) => keyView(r, now));
  });
}

/** Revoking is final and idempotent; the next request with the key gets 401. */
export function revokeKey(op: Operator, id: string): Promise<KeyView> {
  return mutate(op, 'key.revoke', async (now, op) => {
    const { apiKeys } = tablesOf(op.db);
    const before = await keyRow(op, id);
    if (before.revokedAt === null) await stamp(op.db, 'apiKeys', 'revokedAt', id, now, now);
    return changed('key', before, keyView(await keyRow(op, id), now), (r) => keyView(r, now));
  });
}

export function deleteKey(op: Operator, id: string): Promise<KeyView> {
  return mutate(op, 'key.delete', async (now, op) => {
    const { apiKeys } = tablesOf(op.db);
    const before = await keyRow(op, id);
    if (before.deletedAt !== null) throw new GatewayError('unprocessable', `The key ${id} was already deleted.`);
    await op.db.update(apiKeys).set({ deletedAt: now, revokedAt: before.revokedAt ?? now, updatedAt: now }).where(eq(apiKeys.id, id));
    return changed('key', before, keyView(await keyRow(op, id), now), (r) => keyView(r, now));
  });
}

/**
 * Issues a new secret with the same project, name, labels, scopes and expiry, and lets the old
 * one live on for the overlap window (0 = stop now): after it, the old secret fails as expired.
 */
export function rotateKey(op: Operator, id: string, overlapSeconds = DEFAULT_OVERLAP_SECONDS): Promise<IssuedKey> {
  return mutate(op, 'key.rotate', async (now, op) => {
    const { apiKeys } = tablesOf(op.db);
    const old = await mutableKey(op, id, now);
    if (old.replacedBy !== null) throw new GatewayError('conflict', `The key ${id} was already rotated; rotate its replacement ${old.replacedBy} instead.`);
    if (keyStatus(old, now) === 'expired') throw new GatewayError('unprocessable', `The key ${id} has expired; create a new key or extend its expiry first.`);
    // The replacement would be issued enabled: rotating must not be a way around a disable.
    if (old.disabledAt !== null) throw new GatewayError('unprocessable', `The key ${id} is disabled; enable it first, or create a new key.`);
    await requireLiveProject(op, old.projectId);
    const issued = await insertKey(op, old.projectId, { name: old.name, labels: old.labels, scopes: old.scopes, expiresAt: old.expiresAt }, now);
    const until = now + overlapSeconds * 1000;
    await op.db
      .update(apiKeys)
      .set({ replacedBy: issued.key.id, expiresAt: old.expiresAt === null ? until : Math.min(old.expiresAt, until), updatedAt: now })
      .where(eq(apiKeys.id, id));
    await copyKeyRules(op, old.projectId, id, issued.key.id, now);
    const after = { previous: keyView(await keyRow(op, id), now), replacement: issued.key };
    return { target: { type: 'key', id }, before: keyView(old, now), after, result: issued };
  });
}

/**
 * Quota rules narrowed to the rotated key (`keyId`) are copied to its replacement, so rotating
 * never lifts a key's limits; the old key keeps its rules for the overlap. The copy is audited as
 * the `limits.update` it is. Runs inside the rotation's transaction.
 */
async function copyKeyRules(op: Operator, projectId: string, from: string, to: string, now: number): Promise<void> {
  const { projectLimits } = tablesOf(op.db);
  const row = (await op.db.select().from(projectLimits).where(eq(projectLimits.projectId, projectId)).limit(1))[0];
  if (!row) return;
  let rules: unknown;
  try {
    rules = JSON.parse(row.rules);
  } catch {
    return; // a corrupt policy is reported by the quota loader; nothing here to copy from
  }
  if (!Array.isArray(rules)) return;
  const copies = rules.filter((r: { keyId?: unknown } | null) => r?.keyId === from).map((r: object) => ({ ...r, keyId: to }));
  if (copies.length === 0) return;
  const limits = [...rules, ...copies];
  await op.db.update(projectLimits).set({ rules: JSON.stringify(limits), updatedAt: now }).where(eq(projectLimits.projectId, projectId));
  const hardCap = row.hardCap === 1;
  await recordAudit(op.db, {
    actor: op.actor, action: 'limits.update', target: { type: 'project', id: projectId }, at: now, requestId: op.requestId,
    before: { projectId, hardCap, limits: rules, updatedAt: iso(row.updatedAt) }, after: { projectId, hardCap, limits, updatedAt: iso(now) },
  });
}
