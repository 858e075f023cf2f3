import { and, eq, getTableColumns, isNotNull, isNull, sql, type SQL } from 'drizzle-orm';
import { listPage, type ListQuery, type Page } from '../db/pagination.js';
import { newId } from '../auth/keys.js';
import { fingerprint, GATEWAY_SECRET_HOWTO } from '../crypto/secret-box.js';
import type { upstreamKeys } from '../db/schema/index.js';
import type { Db } from '../db/client.js';
import { tablesOf } from '../db/dialect.js';
import { GatewayError } from '../errors.js';
import { ownerWhere, type OwnerFilter } from './refs.js';
import { found, iso, isoOrNull, mutate, parseLabels, stamp, type AccountsDeps, type Operator } from './context.js';
import type { UpstreamKeyCreate, UpstreamKeyUpdate, UpstreamKeyView } from './key-schemas.js';
import { requireLiveProject } from './projects.js';
import { changed } from './tenants.js';

/** inUse: the project currently points at this key. */
type UpstreamRow = typeof upstreamKeys.$inferSelect & { inUse: number };

function status(r: UpstreamRow): UpstreamKeyView['status'] {
  return r.deletedAt !== null ? 'deleted' : r.revokedAt !== null ? 'revoked' : r.disabledAt !== null ? 'disabled' : 'active';
}

function statusWhere(db: Db, s: string | undefined): SQL | undefined {
  const t = tablesOf(db).upstreamKeys;
  if (s === 'deleted') return isNotNull(t.deletedAt);
  if (s === 'revoked') return and(isNull(t.deletedAt), isNotNull(t.revokedAt));
  if (s === 'disabled') return and(isNull(t.deletedAt), isNull(t.revokedAt), isNotNull(t.disabledAt));
  if (s === 'active') return and(isNull(t.deletedAt), isNull(t.revokedAt), isNull(t.disabledAt));
  return isNull(t.deletedAt);
}

/** Never includes the secret or its ciphertext: only the fingerprint. */
export function upstreamKeyView(r: UpstreamRow): UpstreamKeyView {
  return {
    id: r.id, projectId: r.projectId, name: r.name, labels: parseLabels(r.labels), fingerprint: { last4: r.last4, sha256: r.sha256 },
    status: status(r), inUse: Boolean(r.inUse), replacedBy: r.replacedBy, createdAt: iso(r.createdAt), updatedAt: iso(r.updatedAt),
    disabledAt: isoOrNull(r.disabledAt), revokedAt: isoOrNull(r.revokedAt), deletedAt: isoOrNull(r.deletedAt),
  };
}

/** inUse: the project currently points at this key (0/1 on both backends). */
function select({ db }: AccountsDeps) {
  const { projects, upstreamKeys } = tablesOf(db);
  const inUse = sql<number>`CASE WHEN ${projects.upstreamKeyId} = ${upstreamKeys.id} THEN 1 ELSE 0 END`.mapWith(Number).as('in_use');
  return db.select({ ...getTableColumns(upstreamKeys), inUse }).from(upstreamKeys).innerJoin(projects, eq(projects.id, upstreamKeys.projectId));
}

async function row(deps: AccountsDeps, id: string): Promise<UpstreamRow> {
  const { upstreamKeys } = tablesOf(deps.db);
  return found((await select(deps).where(eq(upstreamKeys.id, id)).limit(1))[0], 'upstream key', id);
}

export const getUpstreamKey = async (deps: AccountsDeps, id: string): Promise<UpstreamKeyView> => upstreamKeyView(await row(deps, id));

export async function listUpstreamKeys(deps: AccountsDeps, q: ListQuery & OwnerFilter & { status?: string }): Promise<Page<UpstreamKeyView>> {
  const { projects, upstreamKeys } = tablesOf(deps.db);
  const filters = [...(await ownerWhere(deps.db, q, { tenantId: projects.tenantId, projectId: upstreamKeys.projectId })), statusWhere(deps.db, q.status)];
  return listPage(deps.db, select(deps).$dynamic(), upstreamKeys, q, filters, upstreamKeyView);
}

/** Encrypts and stores; refuses (422 with how to enable it) when GATEWAY_SECRET is unset. Runs inside a mutation. */
async function store(op: AccountsDeps, projectId: string, secret: string, meta: { name: string; labels: string }, now: number): Promise<string> {
  if (!op.box) throw new GatewayError('unprocessable', GATEWAY_SECRET_HOWTO);
  const { upstreamKeys } = tablesOf(op.db);
  const id = newId('upk');
  await op.db.insert(upstreamKeys).values({ id, projectId, ...meta, ciphertext: op.box.seal(secret, id), ...fingerprint(secret), createdAt: now, updatedAt: now });
  return id;
}

async function attach(op: AccountsDeps, projectId: string, keyId: string | null, now: number): Promise<void> {
  const { projects } = tablesOf(op.db);
  await op.db.update(projects).set({ upstreamKeyId: keyId, updatedAt: now }).where(eq(projects.id, projectId));
}

export function createUpstreamKey(op: Operator, input: UpstreamKeyCreate): Promise<UpstreamKeyView> {
  return mutate(op, 'upstream_key.create', async (now, op) => {
    const { upstreamKeys } = tablesOf(op.db);
    const project = await requireLiveProject(op, input.projectId);
    const id = await store(op, project.id, input.secret, { name: input.name ?? '', labels: JSON.stringify(input.labels ?? {}) }, now);
    if (input.attach !== false) await attach(op, project.id, id, now);
    const view = await getUpstreamKey(op, id);
    return { target: { type: 'upstream_key', id }, before: null, after: view, result: view };
  });
}

async function mutable(op: AccountsDeps, id: string): Promise<UpstreamRow> {
  const r = await row(op, id);
  if (r.deletedAt !== null || r.revokedAt !== null) throw new GatewayError('unprocessable', `The upstream key ${id} is ${status(r)}; it cannot be changed.`);
  return r;
}

export function updateUpstreamKey(op: Operator, id: string, patch: UpstreamKeyUpdate): Promise<UpstreamKeyView> {
  return mutate(op, 'upstream_key.update', async (now, op) => {
    const { upstreamKeys } = tablesOf(op.db);
    const before = await mutable(op, id);
    await op.db
      .update(upstreamKeys)
      .set({ name: patch.name ?? before.name, labels: patch.labels ? JSON.stringify(patch.labels) : before.labels, updatedAt: now })
      .where(eq(upstreamKeys.id, id));
    return changed('upstream_key', before, await getUpstreamKey(op, id), upstreamKeyView);
  });
}

/** While disabled, its project's requests are refused (never silently moved to the gateway's default key). */
export function setUpstreamKeyDisabled(op: Operator, id: string, disabled: boolean): Promise<UpstreamKeyView> {
  return mutate(op, disabled ? 'upstream_key.disable' : 'upstream_key.enable', async (now, op) => {
    const { upstreamKeys } = tablesOf(op.db);
    const before = await mutable(op, id);
    await stamp(op.db, 'upstreamKeys', 'disabledAt', id, disabled ? (before.disabledAt ?? now) : null, now);
    return changed('upstream_key', before, await getUpstreamKey(op, id), upstreamKeyView);
  });
}

/** Final: the ciphertext is erased. A project still pointing at it is refused until it gets another key or is detached. */
export function revokeUpstreamKey(op: Operator, id: string): Promise<UpstreamKeyView> {
  return mutate(op, 'upstream_key.revoke', async (now, op) => {
    const { upstreamKeys } = tablesOf(op.db);
    const before = await row(op, id);
    if (before.revokedAt === null) await op.db.update(upstreamKeys).set({ revokedAt: now, ciphertext: '', updatedAt: now }).where(eq(upstreamKeys.id, id));
    return changed('upstream_key', before, await getUpstreamKey(op, id), upstreamKeyView);
  });
}

/** Erases it and detaches it: its project goes back to the gateway's default GEMINI_API_KEY. */
export function deleteUpstreamKey(op: Operator, id: string): Promise<UpstreamKeyView> {
  return mutate(op, 'upstream_key.delete', async (now, op) => {
    const { upstreamKeys } = tablesOf(op.db);
    const before = await row(op, id);
    if (before.deletedAt !== null) throw new GatewayError('unprocessable', `The upstream key ${id} was already deleted.`);
    await op.db.update(upstreamKeys).set({ deletedAt: now, ciphertext: '', updatedAt: now }).where(eq(upstreamKeys.id, id));
    if (before.inUse) await attach(op, before.projectId, null, now);
    return changed('upstream_key', before, await getUpstreamKey(op, id), upstreamKeyView);
  });
}

/** Stores the new secret under a new id, moves the project to it if it used the old one, and revokes the old one. */
export function rotateUpstreamKey(op: Operator, id: string, secret: string): Promise<UpstreamKeyView> {
  return mutate(op, 'upstream_key.rotate', async (now, op) => {
    const { upstreamKeys } = tablesOf(op.db);
    const old = await mutable(op, id);
    const newIdValue = await store(op, old.projectId, secret, { name: old.name, labels: old.labels }, now);
    await op.db.update(upstreamKeys).set({ revokedAt: now, replacedBy: newIdValue, ciphertext: '', updatedAt: now }).where(eq(upstreamKeys.id, id));
    if (old.inUse) await attach(op, old.projectId, newIdValue, now);
    const replacement = await getUpstreamKey(op, newIdValue);
    return { target: { type: 'upstream_key', id }, before: upstreamKeyView(old), after: { previous: await getUpstreamKey(op, id), replacement }, result: replacement };
  });
}
