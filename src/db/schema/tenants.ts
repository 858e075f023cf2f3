import { sql } from 'drizzle-orm';
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { labels, timestamps } from './columns.js';

export const tenants = sqliteTable(
  'tenants',
  {
    id: text('id').primaryKey(),
    slug: text('slug').notNull(),
    name: text('name').notNull(),
    labels: labels(),
    disabledAt: integer('disabled_at'),
    /** Soft delete: the row (and its usage history) stays; the slug becomes free again. */
    deletedAt: integer('deleted_at'),
    ...timestamps,
  },
  (t) => [
    uniqueIndex('tenants_live_slug_uq').on(t.slug).where(sql`deleted_at IS NULL`),
    index('tenants_created_idx').on(t.createdAt, t.id),
  ],
);
