import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { labels, timestamps } from './columns.js';
import { projects } from './projects.js';

/** Tenant keys. Only the SHA-256 of the secret is stored; `prefix` is for humans. */
export const apiKeys = sqliteTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    projectId: text('project_id').notNull().references(() => projects.id),
    name: text('name').notNull().default(''),
    prefix: text('prefix').notNull(),
    hash: text('hash').notNull(),
    labels: labels(),
    /** JSON: { models?: string[], endpoints?: string[], cidrs?: string[] }; absent = unrestricted. */
    scopes: text('scopes').notNull().default('{}'),
    expiresAt: integer('expires_at'),
    revokedAt: integer('revoked_at'),
    /** Reversible, unlike revoked_at. */
    disabledAt: integer('disabled_at'),
    deletedAt: integer('deleted_at'),
    lastUsedAt: integer('last_used_at'),
    /** Set on the old secret's row when it is rotated: the id of the key that replaced it. */
    replacedBy: text('replaced_by'),
    ...timestamps,
  },
  (t) => [
    uniqueIndex('api_keys_hash_uq').on(t.hash),
    index('api_keys_project_idx').on(t.projectId),
    index('api_keys_created_idx').on(t.createdAt, t.id),
  ],
);
