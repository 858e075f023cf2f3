import { sql } from 'drizzle-orm';
import { index, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { epochMs, labels, timestamps } from './columns.js';

export const tenants = pgTable(
  'tenants',
  {
    id: text('id').primaryKey(),
    slug: text('slug').notNull(),
    name: text('name').notNull(),
    labels: labels(),
    disabledAt: epochMs('disabled_at'),
    deletedAt: epochMs('deleted_at'),
    ...timestamps,
  },
  (t) => [
    uniqueIndex('tenants_live_slug_uq').on(t.slug).where(sql`deleted_at IS NULL`),
    index('tenants_created_idx').on(t.createdAt, t.id),
  ],
);
