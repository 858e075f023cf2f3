import { integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { labels, timestamps } from './columns.js';

export const tenants = sqliteTable(
  'tenants',
  {
    id: text('id').primaryKey(),
    slug: text('slug').notNull(),
    name: text('name').notNull(),
    labels: labels(),
    disabledAt: integer('disabled_at'),
    deletedAt: integer('deleted_at'),
    ...timestamps,
  },
  (t) => [uniqueIndex('tenants_slug_uq').on(t.slug)],
);
