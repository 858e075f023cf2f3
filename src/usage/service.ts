import type { Context } from 'hono';
import { stringify } from 'csv-stringify/sync';
import type { z } from '@hono/zod-openapi';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Db } from '../db/client.js';
import { aggregateUsage, type AggregateResult } from './aggregate.js';
import { EVENT_COLUMNS, listEvents } from './events.js';
import { splitByModality } from './modality-groups.js';
import { filterWhere } from './filters.js';
import { aggregateParams, eventsParams, parseGroupBy, pickFilters, resolveRange } from './params.js';

/** Said alongside every aggregate, so nobody mistakes an estimate for an invoice. */
export const USAGE_NOTES = {
  estimatedCostUsd: 'Estimated USD from the price table in force when each request was recorded; not an invoice. Null when the only tokens came from models without a price (see unpricedRequests).',
  percentiles: 'Latency and TTFB percentiles are approximations interpolated from fixed histogram buckets (5 ms … 300 s); averages are exact.',
  range: 'from is inclusive, to exclusive, both UTC, to the millisecond (whole hours come from rollups, partial hours from raw events); day and month buckets are UTC calendar days and months.',
};

export interface UsageService {
  aggregate(q: z.infer<typeof aggregateParams>, scopeProjectId?: string): Promise<AggregateResult>;
  events(q: z.infer<typeof eventsParams>, scopeProjectId?: string): ReturnType<typeof listEvents>;
}

/** The query side shared by /admin/v1/usage and the self-service /gateway/v1/usage. */
export function createUsageService({ db, clock, config }: { db: Db; clock: Clock; config: Config }): UsageService {
  const rangeOpts = (defaultToRecent: boolean) => ({ now: clock.now(), maxRangeDays: config.USAGE_MAX_RANGE_DAYS, defaultToRecent });
  return {
    async aggregate(q, scope) {
      const groupBy = parseGroupBy(q.groupBy);
      const { from, to } = resolveRange(q, rangeOpts(true));
      const result = await aggregateUsage(db, { from: from!, to: to!, groupBy, where: await filterWhere(db, pickFilters(q), scope) });
      return groupBy.byModality || q.modality ? splitByModality(result, q.modality) : result;
    },
    async events(q, scope) {
      const { from, to } = resolveRange(q, rangeOpts(false));
      return listEvents(db, { from, to, where: await filterWhere(db, pickFilters(q), scope), limit: q.limit, cursor: q.cursor });
    },
  };
}

/**
 * RFC 4180 CSV with a header row; null becomes an empty cell, booleans stay words. A cell starting
 * with = + - @ (a model name is any string a tenant sends) gets a leading quote, so a spreadsheet
 * opening the export shows it as text instead of running it as a formula. No number we export is negative.
 */
export function toCsv(columns: readonly string[], rows: readonly Record<string, unknown>[]): string {
  return stringify(rows as Record<string, unknown>[], { header: true, columns: [...columns], cast: { boolean: (v) => String(v) }, escape_formulas: true });
}

/** Sends an aggregate as JSON (with its notes) or as CSV of the groups. */
export function sendAggregate(c: Context, result: AggregateResult, format: 'json' | 'csv') {
  if (format === 'csv') return csvResponse(c, toCsv(result.columns, result.groups), 'usage.csv');
  const { columns: _columns, ...body } = result;
  return c.json({ ...body, notes: USAGE_NOTES });
}

export function sendEvents(c: Context, result: Awaited<ReturnType<typeof listEvents>>, format: 'json' | 'csv') {
  if (format === 'csv') {
    if (result.nextCursor) c.header('x-next-cursor', result.nextCursor);
    return csvResponse(c, toCsv(EVENT_COLUMNS, result.data), 'usage-events.csv');
  }
  return c.json(result);
}

function csvResponse(c: Context, body: string, filename: string) {
  return c.body(body, 200, { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': `attachment; filename="${filename}"` });
}
