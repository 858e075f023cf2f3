import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { GatewayError } from '../errors.js';
import { NO_METER } from '../metering/meter.js';
import { listField } from './kinds.js';
import type { ExchangeResult, ProxyContext, UpstreamAnswer, UpstreamCredential, UpstreamReader } from '../exchange/stage.js';


export interface ListDeps {
  /** Keys whose Google projects may hold the caller's resources, walked in order. */
  keys: (ctx: ProxyContext) => UpstreamCredential[];
  ownedBy: (name: string, projectId: string) => boolean;
  /** Reads the owners of these names into memory, so ownedBy can answer for them. */
  load: (names: string[]) => Promise<void>;
  maxPages: number;
}

/**
 * Answers `GET /{v}/files|cachedContents|batches|operations|…` (kinds.ts listField) with only the caller's resources. Upstream pages
 * are read and filtered until the answer holds pageSize items (all of them without pageSize), the
 * listing is exhausted, or `maxPages` upstream pages were read. With several upstream keys the
 * listing walks each key's project in turn. The page token the client gets is the gateway's own
 * (key id + upstream token); pages may hold fewer items than pageSize.
 */
export async function answerList(deps: ListDeps, ctx: ProxyContext, rest: string, upstream: UpstreamReader, res: ServerResponse): Promise<ExchangeResult> {
  const field = listField(rest)!;
  const keys = deps.keys(ctx);
  const params = new URLSearchParams(ctx.search);
  let at = decodeToken(params.get('pageToken'), keys);
  params.delete('pageToken');
  const limit = Number(params.get('pageSize')) || Infinity;
  const items: unknown[] = [];
  for (let pages = 0; pages < deps.maxPages; pages++) {
    const key = keys[at.keyIndex]!;
    ctx.upstreamKey = key;
    if (at.token) params.set('pageToken', at.token);
    else params.delete('pageToken');
    const answer = await upstream.get(ctx, `/${ctx.what.apiVersion}/${rest}${params.size ? `?${params}` : ''}`, key);
    if (answer.status !== 200) return relay(res, ctx, answer);
    const page = parse(answer.body.toString('utf8'));
    const listed = Array.isArray(page[field]) ? (page[field] as unknown[]) : [];
    await deps.load(listed.flatMap((item) => {
      const name = (item as { name?: unknown } | null)?.name;
      return typeof name === 'string' ? [name] : [];
    }));
    const owned = listed.filter((item) => {
      const name = (item as { name?: unknown } | null)?.name;
      return typeof name === 'string' && deps.ownedBy(name, ctx.principal.projectId);
    });
    // Whole upstream pages only: one that would overflow this answer starts the next one, so a
    // token handed out always leads to a non-empty page (the SDK's pager yields `undefined` for an empty one).
    if (items.length > 0 && items.length + owned.length > limit) return respond(res, ctx, field, items, at, keys);
    items.push(...owned);
    const next = typeof page.nextPageToken === 'string' ? page.nextPageToken : '';
    at = next ? { keyIndex: at.keyIndex, token: next } : { keyIndex: at.keyIndex + 1, token: '' };
    if (at.keyIndex >= keys.length) return respond(res, ctx, field, items, null, keys);
  }
  return respond(res, ctx, field, items, at, keys);
}

function respond(res: ServerResponse, ctx: ProxyContext, field: string, items: unknown[], next: Position | null, keys: UpstreamCredential[]): ExchangeResult {
  const body: Record<string, unknown> = items.length ? { [field]: items } : {};
  if (next) body.nextPageToken = encodeToken(keys[next.keyIndex]!.id, next.token);
  return relay(res, ctx, { status: 200, headers: {}, body: Buffer.from(JSON.stringify(body, null, 2), 'utf8'), outcome: 'ok' });
}

interface Position {
  keyIndex: number;
  token: string;
}

/** The gateway's page, or upstream's refusal (already scrubbed by the reader), to the client. */
function relay(res: ServerResponse, ctx: ProxyContext, answer: UpstreamAnswer): ExchangeResult {
  const { status, body, outcome } = answer;
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': String(body.length), ...ctx.extraHeaders });
  res.end(body);
  return { status, outcome, ttfbMs: performance.now() - ctx.startedAt, bytesOut: body.length, meter: NO_METER };
}

function parse(text: string): Record<string, unknown> {
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function encodeToken(keyId: string, token: string): string {
  return `ggw1.${Buffer.from(JSON.stringify([keyId, token])).toString('base64url')}`;
}

function decodeToken(raw: string | null, keys: UpstreamCredential[]): Position {
  if (!raw) return { keyIndex: 0, token: '' };
  try {
    if (!raw.startsWith('ggw1.')) throw new Error('not ours');
    const [keyId, token] = JSON.parse(Buffer.from(raw.slice(5), 'base64url').toString('utf8')) as [string, string];
    const keyIndex = keys.findIndex((k) => k.id === keyId);
    if (keyIndex === -1 || typeof token !== 'string') throw new Error('unknown key');
    return { keyIndex, token };
  } catch {
    throw new GatewayError('invalid_argument', 'Invalid page token.');
  }
}
