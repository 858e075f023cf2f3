import { index, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { epochMs, labels, timestamps } from './columns.js';
import { projects } from './projects.js';

export const apiKeys = pgTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    projectId: text('project_id').notNull().references(() => projects.id),
    name: text('name').notNull().default(''),
    prefix: text('prefix').notNull(),
    hash: text('hash').notNull(),
    labels: labels(),
    scopes: text('scopes').notNull().default('{}'),
    expiresAt: epochMs('expires_at'),
    revokedAt: epochMs('revoked_at'),
    disabledAt: epochMs('disabled_at'),
    deletedAt: epochMs('deleted_at'),
    lastUsedAt: epochMs('last_used_at'),
    replacedBy: text('replaced_by'),
    ...timestamps,
  },
  (t) => [
    uniqueIndex('api_keys_hash_uq').on(t.hash),
    index('api_keys_project_idx').on(t.projectId),
    index('api_keys_created_idx').on(t.createdAt, t.id),
  ],
);
