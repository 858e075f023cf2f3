import { and, gte, ne, sql } from 'drizzle-orm';
import { DAY_MS, floorTo } from '../calendar.js';
import type { Db } from '../db/client.js';
import { usageRollupsDaily as daily } from '../db/schema/index.js';
import type { PriceBook } from './prices.js';

/** A model with billable usage in the window and no price in the table in force now. */
export interface UnpricedRecentModel {
  model: string;
  requests: number;
  totalTokens: number;
  /** Start (epoch ms, UTC day) of the last day it was used. */
  lastSeenAt: number;
}

export interface RecentModelUsage {
  model: string;
  requests: number;
  tokens: number;
  media: number;
  lastSeen: number;
}

/** The window `prices check` and the dashboard banner look at. */
export const UNPRICED_WINDOW_DAYS = 30;

/**
 * Per model, usage in the daily rollups since `since`. A drizzle builder: `await` it (every
 * backend), or `.all()` where the caller is synchronous (the SQLite CLI).
 */
export function recentModelUsage(db: Db, since: number) {
  return db
    .select({
      model: daily.model,
      requests: sql<number>`sum(${daily.requests})`.mapWith(Number),
      tokens: sql<number>`sum(${daily.totalTokens})`.mapWith(Number),
      // By name: the count columns are typed as a record (db/schema/usage-counts.ts).
      media: sql<number>`sum("images" + "video_seconds")`.mapWith(Number),
      lastSeen: sql<number>`max(${daily.bucketStart})`.mapWith(Number),
    })
    .from(daily)
    .where(and(gte(daily.bucketStart, since), ne(daily.model, '')))
    .groupBy(daily.model);
}

/** Start of the window: midnight UTC `days` days before `now`'s day, so a whole first day counts. */
export const windowStart = (now: number, days: number): number => floorTo('day', now) - days * DAY_MS;

/**
 * Pure: the models among `rows` the price book has no price for at `now`. Only billable use counts
 * (tokens, images or video seconds): a model named only by metadata calls or countTokens costs
 * nothing, so it needs no price. Most used first.
 */
export function unpricedAmong(rows: readonly RecentModelUsage[], prices: Pick<PriceBook, 'priceOf'>, now: number): UnpricedRecentModel[] {
  return rows
    .filter((r) => (r.tokens > 0 || r.media > 0) && prices.priceOf(r.model, now) === null)
    .map((r) => ({ model: r.model, requests: r.requests, totalTokens: r.tokens, lastSeenAt: r.lastSeen }))
    .sort((a, b) => b.requests - a.requests || a.model.localeCompare(b.model));
}

/** Models used in the last `days` days that have no price now (the admin endpoint; awaited, so any backend). */
export async function unpricedRecentModels(db: Db, prices: Pick<PriceBook, 'priceOf'>, now: number, days = UNPRICED_WINDOW_DAYS): Promise<UnpricedRecentModel[]> {
  return unpricedAmong(await recentModelUsage(db, windowStart(now, days)), prices, now);
}
