import { index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/**
 * Usage per project, per key and per model in the current minute, day and month (UTC), written by the
 * usage ledger in the same transaction as the usage_events rows they sum, so the in-memory quota
 * counters can be rebuilt exactly at boot. Rows of windows that have ended are pruned.
 */
export const quotaCounters = sqliteTable(
  'quota_counters',
  {
    projectId: text('project_id').notNull(),
    /** 'project' (value ''), 'key' (value = key id) or 'model' (value = model name). */
    dimension: text('dimension').notNull(),
    value: text('value').notNull(),
    /** 'minute' | 'day' | 'month'. */
    windowKind: text('window_kind').notNull(),
    windowStart: integer('window_start').notNull(),
    tokens: integer('tokens').notNull().default(0),
    requests: integer('requests').notNull().default(0),
  },
  (t) => [
    primaryKey({ columns: [t.projectId, t.dimension, t.value, t.windowKind, t.windowStart] }),
    index('quota_counters_window_idx').on(t.windowKind, t.windowStart),
  ],
);
