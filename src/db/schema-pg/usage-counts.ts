import { USAGE_COUNT_COLUMNS } from '../schema/usage-counts.js';
import { big } from './columns.js';

const camel = (s: string) => s.replace(/_(\w)/g, (_, c: string) => c.toUpperCase());

/**
 * The Postgres twin of ../schema/usage-counts.ts: per-request counts are int8 on usage_events
 * (nullable, like the token columns), because one row can hold a sum (a Batch API job's requests)
 * past 2^31; the rollups sum them in int8, never null, default 0.
 */
export function eventCountColumns() {
  return Object.fromEntries(USAGE_COUNT_COLUMNS.map((c) => [camel(c), big(c)])) as Record<string, ReturnType<typeof big>>;
}

export function rollupCountColumns() {
  return Object.fromEntries(USAGE_COUNT_COLUMNS.map((c) => [camel(c), big(c).notNull().default(0)])) as Record<string, ReturnType<typeof big>>;
}
