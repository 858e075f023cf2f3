import { integer } from 'drizzle-orm/pg-core';
import { USAGE_COUNT_COLUMNS } from '../schema/usage-counts.js';
import { big } from './columns.js';

const camel = (s: string) => s.replace(/_(\w)/g, (_, c: string) => c.toUpperCase());

/**
 * The Postgres twin of ../schema/usage-counts.ts: per-request counts are int4 on usage_events
 * (nullable, like the token columns); the rollups sum them in int8, never null, default 0.
 */
export function eventCountColumns() {
  return Object.fromEntries(USAGE_COUNT_COLUMNS.map((c) => [camel(c), integer(c)])) as Record<string, ReturnType<typeof integer>>;
}

export function rollupCountColumns() {
  return Object.fromEntries(USAGE_COUNT_COLUMNS.map((c) => [camel(c), big(c).notNull().default(0)])) as Record<string, ReturnType<typeof big>>;
}
