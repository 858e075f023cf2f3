import { index, pgTable, text } from 'drizzle-orm/pg-core';
import { epochMs } from './columns.js';

export const auditEvents = pgTable(
  'audit_events',
  {
    id: text('id').primaryKey(),
    createdAt: epochMs('created_at').notNull(),
    actor: text('actor').notNull(),
    action: text('action').notNull(),
    targetType: text('target_type').notNull(),
    targetId: text('target_id').notNull(),
    before: text('before'),
    after: text('after'),
    requestId: text('request_id'),
  },
  (t) => [index('audit_events_created_idx').on(t.createdAt, t.id), index('audit_events_target_idx').on(t.targetType, t.targetId)],
);
