import { sql } from 'drizzle-orm';
import { index, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { epochMs, labels, timestamps } from './columns.js';
import { tenants } from './tenants.js';

export const projects = pgTable(
  'projects',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id').notNull().references(() => tenants.id),
    slug: text('slug').notNull(),
    name: text('name').notNull(),
    labels: labels(),
    upstreamKeyId: text('upstream_key_id'),
    disabledAt: epochMs('disabled_at'),
    deletedAt: epochMs('deleted_at'),
    ...timestamps,
  },
  (t) => [
    uniqueIndex('projects_live_tenant_slug_uq').on(t.tenantId, t.slug).where(sql`deleted_at IS NULL`),
    index('projects_tenant_created_idx').on(t.tenantId, t.createdAt, t.id),
  ],
);
