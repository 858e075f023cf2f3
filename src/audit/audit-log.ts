import { eq, like, or } from 'drizzle-orm';
import { newId } from '../auth/keys.js';
import type { Db } from '../db/client.js';
import { tablesOf } from '../db/dialect.js';
import { listPage, type Page } from '../db/pagination.js';

/** Who did it: `admin-token` (admin API) or `cli:<os user>` (CLI). */
export type Actor = string;

export interface AuditEntry {
  actor: Actor;
  /** `<resource>.<verb>`, e.g. `tenant.create`, `key.rotate`, `limits.update`. */
  action: string;
  target: { type: string; id: string };
  /** Summaries of the object before and after; secret-bearing fields are dropped here as a safety net. */
  before?: unknown;
  after?: unknown;
  /** Epoch ms; pass the injected clock's now(). Defaults to the wall clock. */
  at?: number;
  requestId?: string | null;
}

/** Fields that may hold a secret; never written to the audit log, whatever a caller passes. */
const SECRET_FIELDS = new Set(['secret', 'key', 'hash', 'ciphertext', 'token', 'apiKey', 'upstreamKey', 'password']);

function summary(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  return JSON.stringify(v, (k, val: unknown) => (SECRET_FIELDS.has(k) ? undefined : val));
}

/**
 * Writes one audit_events row. Call it inside the mutation's transaction so the change and its
 * record commit together.
 */
export async function recordAudit(db: Db, e: AuditEntry): Promise<void> {
  await db.insert(tablesOf(db).auditEvents)
    .values({
      id: newId('aud'),
      createdAt: e.at ?? Date.now(),
      actor: e.actor,
      action: e.action,
      targetType: e.target.type,
      targetId: e.target.id,
      before: summary(e.before),
      after: summary(e.after),
      requestId: e.requestId ?? null,
    });
}

export interface AuditView {
  id: string;
  at: string;
  actor: string;
  action: string;
  target: { type: string; id: string };
  before: unknown;
  after: unknown;
  requestId: string | null;
}

export interface AuditQuery {
  cursor?: string;
  limit: number;
  actor?: string;
  action?: string;
  targetType?: string;
  targetId?: string;
}

const parse = (s: string | null): unknown => (s === null ? null : JSON.parse(s));

/** Newest first; `actor` matches a prefix (`cli` finds every `cli:<user>`), `action` exactly or by `<resource>.` prefix. */
export function listAudit(db: Db, q: AuditQuery): Promise<Page<AuditView>> {
  const t = tablesOf(db).auditEvents;
  const filters = [
    q.actor ? or(eq(t.actor, q.actor), like(t.actor, `${q.actor}:%`)) : undefined,
    q.action ? (q.action.endsWith('.') ? like(t.action, `${q.action}%`) : eq(t.action, q.action)) : undefined,
    q.targetType ? eq(t.targetType, q.targetType) : undefined,
    q.targetId ? eq(t.targetId, q.targetId) : undefined,
  ];
  return listPage(db, db.select().from(t).$dynamic(), t, q, filters, (r) => ({
    id: r.id, at: new Date(r.createdAt).toISOString(), actor: r.actor, action: r.action, target: { type: r.targetType, id: r.targetId },
    before: parse(r.before), after: parse(r.after), requestId: r.requestId,
  }));
}
