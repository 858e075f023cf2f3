import { integer, pgTable, text } from 'drizzle-orm/pg-core';
import { timestamps } from './columns.js';
import { projects } from './projects.js';

export const projectLimits = pgTable('project_limits', {
  projectId: text('project_id')
    .primaryKey()
    .references(() => projects.id),
  hardCap: integer('hard_cap').notNull().default(0),
  rules: text('rules').notNull().default('[]'),
  ...timestamps,
});
