import { bigint, text } from 'drizzle-orm/pg-core';

/**
 * The Postgres twin of ../schema/columns.ts. Epoch milliseconds and nano-USD outgrow int4, so they
 * are int8 read back as JS numbers (exact up to 2^53: year 287396 in ms, 9M USD in nano-USD per row).
 */
export const epochMs = (name: string) => bigint(name, { mode: 'number' });

/** Sums that can pass 2^31 (tokens, bytes, cost over a month of traffic). */
export const big = (name: string) => bigint(name, { mode: 'number' });

export const timestamps = {
  createdAt: epochMs('created_at').notNull(),
  updatedAt: epochMs('updated_at').notNull(),
};

/** Text, not jsonb, so both dialects hand the services the same JSON string. */
export const labels = () => text('labels').notNull().default('{}');
