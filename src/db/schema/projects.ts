import { sql } from 'drizzle-orm';
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { labels, timestamps } from './columns.js';
import { tenants } from './tenants.js';

export const projects = sqliteTable(
  'projects',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id').notNull().references(() => tenants.id),
    slug: text('slug').notNull(),
    name: text('name').notNull(),
    labels: labels(),
    /** Bring-your-own upstream key (upstream_keys.id); null means the gateway's default GEMINI_API_KEY. */
    upstreamKeyId: text('upstream_key_id'),
    disabledAt: integer('disabled_at'),
    /** Soft delete: the row (and its usage history) stays; the slug becomes free again within the tenant. */
    deletedAt: integer('deleted_at'),
    ...timestamps,
  },
  (t) => [
    uniqueIndex('projects_live_tenant_slug_uq').on(t.tenantId, t.slug).where(sql`deleted_at IS NULL`),
    index('projects_tenant_created_idx').on(t.tenantId, t.createdAt, t.id),
  ],
);
