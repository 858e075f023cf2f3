import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Principal } from './principal.js';
import type { RequestBody } from './body.js';
import type { Classified } from './classify.js';
import type { MeterResult } from '../metering/meter.js';
import type { Outcome } from '../metering/row.js';
import type { StreamGuard } from './stream-guard.js';
import { GatewayError } from '../errors.js';

/** An upstream Gemini key as the data plane uses it; `id` is safe to log and store, `secret` never is. */
export interface UpstreamCredential {
  id: string;
  secret: string;
}

/** How an exchange ended, as after() and the usage row see it (also when a stage refused and nothing went upstream). */
export interface ExchangeResult {
  status: number;
  outcome: Outcome;
  ttfbMs: number | null;
  bytesOut: number;
  meter: MeterResult;
  errorMessage?: string;
  /** The answer was held back and the caller chose to retry: the client has seen nothing. */
  retry?: boolean;
}

/** A whole upstream answer read by the gateway itself rather than streamed to the client; echoed credentials already scrubbed. */
export interface UpstreamAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** `ok` for a 2xx; `upstream_error` for another answer; `upstream_timeout` / `upstream_aborted` when the gateway wrote the 504/502 body itself. */
  outcome: Outcome;
}

/**
 * The data plane's one way to read an upstream answer whole (filtered lists): the same pool,
 * timeouts and header rules as forwarding, asking for identity encoding, scrubbing the key.
 * Provided by the route to the `answer` hook.
 */
export interface UpstreamReader {
  /** GET `pathAndQuery` (after the upstream base path, e.g. `/v1beta/files?pageSize=10`) with `key`. */
  get(ctx: ProxyContext, pathAndQuery: string, key: UpstreamCredential): Promise<UpstreamAnswer>;
}

/** An answer held back before the client saw a byte of it, because its status is in `ctx.holdStatuses`. */
interface HeldAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  /** Decoded (gunzipped…) body; empty when it could not be decoded. */
  body: Buffer;
  /** The gateway holds the request body, so it can send it again. */
  replayable: boolean;
}

/**
 * One proxied request as it moves through the stages. Data only, built as one literal with every
 * field (route.ts newContext): a fixed shape keeps V8 on its fast path; behaviour lives in the stages' hooks.
 */
export interface ProxyContext {
  requestId: string;
  incoming: IncomingMessage;
  method: string;
  /** Path without query, as the client sent it. */
  path: string;
  /** Query string with `key` removed ('' or '?…'). */
  search: string;
  what: Classified;
  principal: Principal;
  body: RequestBody;
  /** The parsed JSON body once requestJson() has read it; see there. */
  parsedBody: unknown;
  model: string | null;
  /** The upstream credential for this request; a stage may pick another (bring-your-own key, pools). */
  upstreamKey: { id: string | null; secret: string } | null;
  /** [name, value, …] added to the upstream request, replacing any the client sent under those names (trace context). */
  upstreamHeaders: string[] | null;
  /** Set by ownership when the request touches a resource held by one upstream key: only that key can serve it. */
  pinnedKeyId: string | null;
  /** Upstream statuses to hold back and show to onUpstreamFailure() before the client sees them (set by the key pool). */
  holdStatuses: ReadonlySet<number> | null;
  /** Headers added to the client response (request id, rate-limit headers…). */
  extraHeaders: Record<string, string>;
  /** Keep the 2xx response's parsed JSON (or first SSE frame) in `result.meter.head` for after(). */
  captureResponse: boolean;
  /** The answer echoes usage an earlier request was billed for (a stored interaction read again): recorded without tokens, never cut by the hard cap. */
  usageBilled: boolean;
  /**
   * Scratch space for stages to carry state from before() to after(), one symbol each. A plain
   * object, not a Map: every request has one, and a Map allocates its hash table up front.
   */
  state: Record<symbol, unknown>;
  startedAt: number;
  now: number;
}

/** ctx.parsedBody before the body was read. */
export const UNREAD = Symbol('body not parsed yet');
const MALFORMED = Symbol('body is not JSON');

/**
 * The parsed JSON body when the gateway holds the body (small or chunked JSON requests); null when
 * there is none or it is streamed. Parsed at most once. Throws GatewayError invalid_argument (400)
 * when the body is not JSON: a stage that must read the body refuses malformed ones by calling it.
 */
export function requestJson(ctx: ProxyContext): unknown {
  if (ctx.parsedBody === UNREAD) {
    const buf = ctx.body.buffered;
    if (!buf || buf.length === 0) ctx.parsedBody = null;
    else {
      try {
        ctx.parsedBody = JSON.parse(buf.toString('utf8'));
      } catch {
        ctx.parsedBody = MALFORMED;
      }
    }
  }
  if (ctx.parsedBody === MALFORMED) throw new GatewayError('invalid_argument', 'Request body is not valid JSON.');
  return ctx.parsedBody;
}

/**
 * A step around the upstream call; proxy/route.ts calls the hooks, in this order:
 * - `before`, in list order, refuses by throwing GatewayError (nothing is forwarded);
 * - `answer`: the first stage that returns a promise answers the request itself instead of
 *   forwarding it (filtered lists), reading upstream through `upstream`;
 * - `streamGuard`: the first guard returned watches a 2xx SSE stream's running usage and may end
 *   it between frames (quota hard cap); with a guard, upstream is asked not to compress;
 * - `responseHeaders` may edit upstream's headers before the client sees them;
 * - `onUpstreamFailure` sees an answer held back by `ctx.holdStatuses`; returning true means "retry":
 *   the stage moved `ctx.upstreamKey` on, nothing was sent, and the request goes out again;
 * - `usageBilledBefore`, once the answer is in and carries usage (unless `ctx.usageBilled` already
 *   said so): true when another request billed that usage, so this one is recorded without it. It
 *   runs with nothing awaited between the check and the record, so two racing requests cannot both bill;
 * - `after`, in reverse order, once the exchange is over whatever its outcome; must not throw.
 */
export interface ProxyStage {
  name: string;
  before?(ctx: ProxyContext): void | Promise<void>;
  answer?(ctx: ProxyContext, upstream: UpstreamReader, res: ServerResponse): Promise<ExchangeResult> | null;
  streamGuard?(ctx: ProxyContext): StreamGuard | null;
  responseHeaders?(ctx: ProxyContext, status: number, headers: IncomingHttpHeaders): void;
  onUpstreamFailure?(ctx: ProxyContext, held: HeldAnswer): boolean;
  usageBilledBefore?(ctx: ProxyContext, result: ExchangeResult): boolean;
  after?(ctx: ProxyContext, result: ExchangeResult): void;
}
