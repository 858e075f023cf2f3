import { index, integer, pgTable, text } from 'drizzle-orm/pg-core';
import { epochMs, timestamps } from './columns.js';
import { projects } from './projects.js';

export const resources = pgTable(
  'resources',
  {
    name: text('name').primaryKey(),
    kind: text('kind').notNull(),
    tenantId: text('tenant_id').notNull(),
    projectId: text('project_id').notNull().references(() => projects.id),
    upstreamKeyId: text('upstream_key_id'),
    keyId: text('key_id'),
    source: text('source').notNull(),
    usageRecordedAt: epochMs('usage_recorded_at'),
    units: integer('units'),
    ...timestamps,
  },
  (t) => [index('resources_project_kind_idx').on(t.projectId, t.kind), index('resources_kind_unmetered_idx').on(t.kind, t.usageRecordedAt)],
);
