import { z } from '@hono/zod-openapi';
import { and, desc, sql, type AnyColumn, type SQL } from 'drizzle-orm';
import type { SQLiteSelect } from 'drizzle-orm/sqlite-core';
import { GatewayError } from '../errors.js';
import type { Db } from './client.js';
import { labelEquals, labelPresent } from './dialect.js';

/**
 * Shared list helpers for every listing service (accounts, audit): keyset (cursor) pagination over (created_at, id),
 * newest first, and label filters over the JSON `labels` column. A cursor is opaque to clients.
 */

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

/** The response schema of every list (OpenAPI): one page of items and the cursor of the next page (null at the end). */
export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ data: z.array(item), nextCursor: z.string().nullable().openapi({ description: 'Pass as `cursor` for the next page; null on the last page.' }) });
}

/** A list that is always complete in one page (small, in-memory sets): the same envelope, nextCursor null. */
export function wholeList<T>(data: T[]): Page<T> {
  return { data, nextCursor: null };
}

/**
 * The one cursor of every admin and self-service list: the (time, id) of the last row of the page,
 * newest first. `id` is a string for most tables, an integer for usage events.
 */
export interface Cursor {
  at: number;
  id: string | number;
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.at, c.id])).toString('base64url');
}

/**
 * Undefined/empty → first page; anything that is not one of our cursors → 400. `idKind` is the
 * type of the listed table's id: Postgres refuses to compare a bigint id with text (a 500), so an
 * id of the other kind is refused here.
 */
export function decodeCursor(s: string | undefined, idKind: 'string' | 'integer' = 'string'): Cursor | null {
  if (!s) return null;
  try {
    const v = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as unknown;
    const idOk = (id: unknown) => (idKind === 'integer' ? Number.isSafeInteger(id) : typeof id === 'string');
    if (Array.isArray(v) && v.length === 2 && Number.isSafeInteger(v[0]) && idOk(v[1])) return { at: v[0], id: v[1] as string | number };
  } catch {
    // fall through to the 400 below
  }
  throw new GatewayError('invalid_argument', 'Invalid cursor: pass the nextCursor of a previous page unchanged.');
}

/** The keyset condition for "after this cursor" in newest-first order (SQLite row values). */
export function afterCursor(createdAt: AnyColumn, id: AnyColumn, cursor: Cursor | null): SQL | undefined {
  return cursor ? sql`(${createdAt}, ${id}) < (${cursor.at}, ${cursor.id})` : undefined;
}

export function newestFirst(createdAt: AnyColumn, id: AnyColumn): SQL[] {
  return [desc(createdAt), desc(id)];
}

/** Rows must have been fetched with `limit + 1`: the extra row only says whether a next page exists. */
export function takePage<R, T>(rows: R[], limit: number, cursorOf: (row: R) => Cursor, view: (row: R) => T): Page<T> {
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  const last = page.at(-1);
  return { data: page.map(view), nextCursor: more && last ? encodeCursor(cursorOf(last)) : null };
}

/** Parses a `label` query value into pairs; a null value means "key present". */
export function parseLabelFilter(s: string | undefined): Array<[string, string | null]> {
  if (!s) return [];
  return s.split(',').map((part) => {
    const eq = part.indexOf('=');
    return eq === -1 ? [part, null] : [part.slice(0, eq), part.slice(eq + 1)];
  });
}

/** SQL over a JSON labels column: every pair must match. Keys are quoted so dots stay literal. */
export function labelsMatch(db: Db, column: AnyColumn, filter: string | undefined): SQL | undefined {
  const pairs = parseLabelFilter(filter);
  if (pairs.length === 0) return undefined;
  return and(
    ...pairs.map(([k, v]) => {
      if (!/^[A-Za-z0-9._/-]+$/.test(k)) throw new GatewayError('invalid_argument', `Invalid label key "${k}".`);
      return v === null ? labelPresent(db, column, k) : labelEquals(db, column, k, v);
    }),
  );
}

export interface ListQuery {
  cursor?: string;
  limit: number;
  label?: string;
}

/**
 * One page of a `db.select()…from()…$dynamic()` query, newest first: adds the caller's filters, the
 * label filter and the cursor condition, fetches limit + 1 rows and maps them to views.
 */
export async function listPage<Q extends SQLiteSelect<string | undefined, 'sync'>, V>(
  db: Db,
  qb: Q,
  cols: { createdAt: AnyColumn; id: AnyColumn; labels?: AnyColumn },
  q: ListQuery,
  filters: Array<SQL | undefined>,
  view: (row: Awaited<Q>[number]) => V,
): Promise<Page<V>> {
  const rows = (await qb
    .where(and(...filters, cols.labels ? labelsMatch(db, cols.labels, q.label) : undefined, afterCursor(cols.createdAt, cols.id, decodeCursor(q.cursor))))
    .orderBy(...newestFirst(cols.createdAt, cols.id))
    .limit(q.limit + 1)) as Array<Awaited<Q>[number] & { createdAt: number; id: string | number }>;
  return takePage(rows, q.limit, (r) => ({ at: r.createdAt, id: r.id }), view);
}
