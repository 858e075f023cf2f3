import { index, integer, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { epochMs } from './columns.js';

export const liveTokens = pgTable(
  'live_tokens',
  {
    id: text('id').primaryKey(),
    createdAt: epochMs('created_at').notNull(),
    hash: text('hash').notNull(),
    tenantId: text('tenant_id').notNull(),
    projectId: text('project_id').notNull(),
    keyId: text('key_id').notNull(),
    usesLeft: integer('uses_left'),
    usesTotal: integer('uses_total'),
    expiresAt: epochMs('expires_at').notNull(),
    newSessionExpiresAt: epochMs('new_session_expires_at').notNull(),
    setupJson: text('setup_json'),
    fieldMask: text('field_mask'),
    lastUsedAt: epochMs('last_used_at'),
  },
  (t) => [uniqueIndex('live_tokens_hash_idx').on(t.hash), index('live_tokens_project_time_idx').on(t.projectId, t.createdAt)],
);
