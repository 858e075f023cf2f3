import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { timestamps } from './columns.js';
import { projects } from './projects.js';

/** A project's quota policy: one row per project that has limits (see src/quota/policy.ts for the rule shape). */
export const projectLimits = sqliteTable('project_limits', {
  projectId: text('project_id')
    .primaryKey()
    .references(() => projects.id),
  /** 1: in-flight streams are ended with an error frame once the running usage would exceed a token budget. */
  hardCap: integer('hard_cap').notNull().default(0),
  /** JSON array of limit rules, validated on write and again on load. */
  rules: text('rules').notNull().default('[]'),
  ...timestamps,
});
