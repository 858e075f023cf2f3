import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/** One row per admin mutation (API or CLI): who did what to which object, before and after, never a secret. */
export const auditEvents = sqliteTable(
  'audit_events',
  {
    id: text('id').primaryKey(),
    createdAt: integer('created_at').notNull(),
    /** `admin-token` for the admin API, `cli:<os user>` for the CLI. */
    actor: text('actor').notNull(),
    /** `<resource>.<verb>`, e.g. `key.rotate`. */
    action: text('action').notNull(),
    targetType: text('target_type').notNull(),
    targetId: text('target_id').notNull(),
    /** JSON summaries of the object (secrets stripped); null where there is no before/after. */
    before: text('before'),
    after: text('after'),
    requestId: text('request_id'),
  },
  (t) => [index('audit_events_created_idx').on(t.createdAt, t.id), index('audit_events_target_idx').on(t.targetType, t.targetId)],
);
