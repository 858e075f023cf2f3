import { integer, text } from 'drizzle-orm/sqlite-core';

/** Epoch milliseconds everywhere: integer comparisons are what the time-range indexes need. */
export const timestamps = {
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
};

/** Labels are a small JSON object of string → string, filtered in SQL with json_extract. */
export const labels = () => text('labels').notNull().default('{}');
