import { index, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { big, epochMs } from './columns.js';

export const quotaCounters = pgTable(
  'quota_counters',
  {
    projectId: text('project_id').notNull(),
    dimension: text('dimension').notNull(),
    value: text('value').notNull(),
    windowKind: text('window_kind').notNull(),
    windowStart: epochMs('window_start').notNull(),
    tokens: big('tokens').notNull().default(0),
    requests: big('requests').notNull().default(0),
  },
  (t) => [
    // Named: the generated name passes Postgres's 63-character identifier limit.
    primaryKey({ name: 'quota_counters_pk', columns: [t.projectId, t.dimension, t.value, t.windowKind, t.windowStart] }),
    index('quota_counters_window_idx').on(t.windowKind, t.windowStart),
  ],
);
