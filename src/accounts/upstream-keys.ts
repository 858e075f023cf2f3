import { and, eq, getTableColumns, isNotNull, isNull, sql, type SQL } from 'drizzle-orm';
import { listPage, type ListQuery, type Page } from '../db/pagination.js';
import { newId } from '../auth/keys.js';
import { fingerprint, GATEWAY_SECRET_HOWTO } from '../crypto/secret-box.js';
import { projects, upstreamKeys } from '../db/schema/index.js';
import { GatewayError } from '../errors.js';
import { ownerWhere, type OwnerFilter } from './refs.js';
import { found, iso, isoOrNull, mutate, parseLabels, stamp, type AccountsDeps, type Operator } from './context.js';
import type { UpstreamKeyCreate, UpstreamKeyUpdate, UpstreamKeyView } from './key-schemas.js';
import { requireLiveProject } from './projects.js';
import { changed } from './tenants.js';

/** inUse: the project currently points at this key. */
const columns = { ...getTableColumns(upstreamKeys), inUse: sql<number>`${projects.upstreamKeyId} IS ${upstreamKeys.id}`.as('in_use') };
type UpstreamRow = typeof upstreamKeys.$inferSelect & { inUse: number };

function status(r: UpstreamRow): UpstreamKeyView['status'] {
  return r.deletedAt !== null ? 'deleted' : r.revokedAt !== null ? 'revoked' : r.disabledAt !== null ? 'disabled' : 'active';
}

function statusWhere(s: string | undefined): SQL | undefined {
  const t = upstreamKeys;
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

const select = ({ db }: AccountsDeps) => db.select(columns).from(upstreamKeys).innerJoin(projects, eq(projects.id, upstreamKeys.projectId));

function row(deps: AccountsDeps, id: string): UpstreamRow {
  return found(select(deps).where(eq(upstreamKeys.id, id)).get(), 'upstream key', id);
}

export const getUpstreamKey = (deps: AccountsDeps, id: string): UpstreamKeyView => upstreamKeyView(row(deps, id));

export function listUpstreamKeys(deps: AccountsDeps, q: ListQuery & OwnerFilter & { status?: string }): Page<UpstreamKeyView> {
  const filters = [...ownerWhere(deps.db, q, { tenantId: projects.tenantId, projectId: upstreamKeys.projectId }), statusWhere(q.status)];
  return listPage(select(deps).$dynamic(), upstreamKeys, q, filters, upstreamKeyView);
}

/** Encrypts and stores; refuses (422 with how to enable it) when GATEWAY_SECRET is unset. Runs inside a mutation. */
function store(op: AccountsDeps, projectId: string, secret: string, meta: { name: string; labels: string }, now: number): string {
  if (!op.box) throw new GatewayError('unprocessable', GATEWAY_SECRET_HOWTO);
  const id = newId('upk');
  op.db.insert(upstreamKeys).values({ id, projectId, ...meta, ciphertext: op.box.seal(secret, id), ...fingerprint(secret), createdAt: now, updatedAt: now }).run();
  return id;
}

const attach = (op: AccountsDeps, projectId: string, keyId: string | null, now: number) =>
  op.db.update(projects).set({ upstreamKeyId: keyId, updatedAt: now }).where(eq(projects.id, projectId)).run();

export function createUpstreamKey(op: Operator, input: UpstreamKeyCreate): UpstreamKeyView {
  return mutate(op, 'upstream_key.create', (now) => {
    const project = requireLiveProject(op, input.projectId);
    const id = store(op, project.id, input.secret, { name: input.name ?? '', labels: JSON.stringify(input.labels ?? {}) }, now);
    if (input.attach !== false) attach(op, project.id, id, now);
    const view = getUpstreamKey(op, id);
    return { target: { type: 'upstream_key', id }, before: null, after: view, result: view };
  });
}

function mutable(op: AccountsDeps, id: string): UpstreamRow {
  const r = row(op, id);
  if (r.deletedAt !== null || r.revokedAt !== null) throw new GatewayError('unprocessable', `The upstream key ${id} is ${status(r)}; it cannot be changed.`);
  return r;
}

export function updateUpstreamKey(op: Operator, id: string, patch: UpstreamKeyUpdate): UpstreamKeyView {
  return mutate(op, 'upstream_key.update', (now) => {
    const before = mutable(op, id);
    op.db
      .update(upstreamKeys)
      .set({ name: patch.name ?? before.name, labels: patch.labels ? JSON.stringify(patch.labels) : before.labels, updatedAt: now })
      .where(eq(upstreamKeys.id, id))
      .run();
    return changed('upstream_key', before, getUpstreamKey(op, id), upstreamKeyView);
  });
}

/** While disabled, its project's requests are refused (never silently moved to the gateway's default key). */
export function setUpstreamKeyDisabled(op: Operator, id: string, disabled: boolean): UpstreamKeyView {
  return mutate(op, disabled ? 'upstream_key.disable' : 'upstream_key.enable', (now) => {
    const before = mutable(op, id);
    stamp(op.db, 'upstream_keys', 'disabled_at', id, disabled ? (before.disabledAt ?? now) : null, now);
    return changed('upstream_key', before, getUpstreamKey(op, id), upstreamKeyView);
  });
}

/** Final: the ciphertext is erased. A project still pointing at it is refused until it gets another key or is detached. */
export function revokeUpstreamKey(op: Operator, id: string): UpstreamKeyView {
  return mutate(op, 'upstream_key.revoke', (now) => {
    const before = row(op, id);
    if (before.revokedAt === null) op.db.update(upstreamKeys).set({ revokedAt: now, ciphertext: '', updatedAt: now }).where(eq(upstreamKeys.id, id)).run();
    return changed('upstream_key', before, getUpstreamKey(op, id), upstreamKeyView);
  });
}

/** Erases it and detaches it: its project goes back to the gateway's default GEMINI_API_KEY. */
export function deleteUpstreamKey(op: Operator, id: string): UpstreamKeyView {
  return mutate(op, 'upstream_key.delete', (now) => {
    const before = row(op, id);
    if (before.deletedAt !== null) throw new GatewayError('unprocessable', `The upstream key ${id} was already deleted.`);
    op.db.update(upstreamKeys).set({ deletedAt: now, ciphertext: '', updatedAt: now }).where(eq(upstreamKeys.id, id)).run();
    if (before.inUse) attach(op, before.projectId, null, now);
    return changed('upstream_key', before, getUpstreamKey(op, id), upstreamKeyView);
  });
}

/** Stores the new secret under a new id, moves the project to it if it used the old one, and revokes the old one. */
export function rotateUpstreamKey(op: Operator, id: string, secret: string): UpstreamKeyView {
  return mutate(op, 'upstream_key.rotate', (now) => {
    const old = mutable(op, id);
    const newIdValue = store(op, old.projectId, secret, { name: old.name, labels: old.labels }, now);
    op.db.update(upstreamKeys).set({ revokedAt: now, replacedBy: newIdValue, ciphertext: '', updatedAt: now }).where(eq(upstreamKeys.id, id)).run();
    if (old.inUse) attach(op, old.projectId, newIdValue, now);
    const replacement = getUpstreamKey(op, newIdValue);
    return { target: { type: 'upstream_key', id }, before: upstreamKeyView(old), after: { previous: getUpstreamKey(op, id), replacement }, result: replacement };
  });
}
