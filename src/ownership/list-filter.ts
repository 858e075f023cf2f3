import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import { GatewayError } from '../errors.js';
import { NO_METER, type ForwardResult } from '../proxy/forward.js';
import { upstreamRequestHeaders } from '../proxy/headers.js';
import type { UpstreamCredential } from '../proxy/key-pool.js';
import type { ProxyContext } from '../proxy/stage.js';

/** List endpoints and the field their page puts items in. */
export const LIST_FIELDS: Readonly<Record<string, string>> = { files: 'files', cachedContents: 'cachedContents', batches: 'operations' };

export interface ListDeps {
  pool: Dispatcher;
  basePath: string;
  /** Keys whose Google projects may hold the caller's resources, walked in order. */
  keys: (ctx: ProxyContext) => UpstreamCredential[];
  ownedBy: (name: string, projectId: string) => boolean;
  maxPages: number;
}

/**
 * Answers `GET /{v}/files|cachedContents|batches` with only the caller's resources. Each upstream
 * page is filtered; an empty filtered page is not returned while upstream has more (the SDK's pager
 * would yield `undefined` for it): the gateway reads on, up to `maxPages` upstream pages. With
 * several upstream keys the listing walks each key's project in turn. The page token the client
 * gets is the gateway's own (key id + upstream token), so pages may hold fewer items than pageSize.
 */
export function listTakeover(deps: ListDeps, ctx: ProxyContext, rest: string): (res: ServerResponse) => Promise<ForwardResult> {
  const field = LIST_FIELDS[rest]!;
  return async (res) => {
    const keys = deps.keys(ctx);
    const params = new URLSearchParams(ctx.search);
    let { keyIndex, token } = decodeToken(params.get('pageToken'), keys);
    params.delete('pageToken');
    const items: unknown[] = [];
    let exhausted = false;
    for (let pages = 0; pages < deps.maxPages && items.length === 0 && !exhausted; pages++) {
      const key = keys[keyIndex]!;
      ctx.upstreamKey = key;
      if (token) params.set('pageToken', token);
      else params.delete('pageToken');
      const query = params.size ? `?${params}` : '';
      const answer = await deps.pool.request({
        method: 'GET',
        path: `${deps.basePath}/${ctx.what.apiVersion}/${rest}${query}`,
        headers: [...upstreamRequestHeaders(ctx.incoming.rawHeaders, key.secret, false).filter((_, i, a) => (i % 2 === 0 ? a[i] : a[i - 1])!.toLowerCase() !== 'accept-encoding'), 'accept-encoding', 'identity'],
      });
      const text = await answer.body.text();
      if (answer.statusCode !== 200) return relay(res, ctx, answer.statusCode, text);
      const page = parse(text);
      for (const item of Array.isArray(page[field]) ? (page[field] as unknown[]) : []) {
        const name = (item as { name?: unknown } | null)?.name;
        if (typeof name === 'string' && deps.ownedBy(name, ctx.principal.projectId)) items.push(item);
      }
      token = typeof page.nextPageToken === 'string' ? page.nextPageToken : '';
      if (!token) {
        keyIndex++;
        exhausted = keyIndex >= keys.length;
      }
    }
    const body: Record<string, unknown> = items.length ? { [field]: items } : {};
    if (!exhausted) body.nextPageToken = encodeToken(keys[keyIndex]!.id, token);
    return relay(res, ctx, 200, JSON.stringify(body, null, 2));
  };
}

function relay(res: ServerResponse, ctx: ProxyContext, status: number, text: string): ForwardResult {
  const bytes = Buffer.from(text, 'utf8');
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': String(bytes.length), ...ctx.extraHeaders });
  res.end(bytes);
  const outcome = status < 400 ? 'ok' : 'upstream_error';
  return { status, outcome, ttfbMs: performance.now() - ctx.startedAt, bytesOut: bytes.length, meter: NO_METER };
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

function decodeToken(raw: string | null, keys: UpstreamCredential[]): { keyIndex: number; token: string } {
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
