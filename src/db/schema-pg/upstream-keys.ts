import { index, pgTable, text } from 'drizzle-orm/pg-core';
import { epochMs, labels, timestamps } from './columns.js';
import { projects } from './projects.js';

export const upstreamKeys = pgTable(
  'upstream_keys',
  {
    id: text('id').primaryKey(),
    projectId: text('project_id').notNull().references(() => projects.id),
    name: text('name').notNull().default(''),
    labels: labels(),
    ciphertext: text('ciphertext').notNull(),
    last4: text('last4').notNull(),
    sha256: text('sha256').notNull(),
    disabledAt: epochMs('disabled_at'),
    revokedAt: epochMs('revoked_at'),
    deletedAt: epochMs('deleted_at'),
    replacedBy: text('replaced_by'),
    ...timestamps,
  },
  (t) => [index('upstream_keys_project_idx').on(t.projectId), index('upstream_keys_created_idx').on(t.createdAt, t.id)],
);
