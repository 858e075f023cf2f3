import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Principal } from '../auth/principal.js';
import type { RequestBody } from './body.js';
import type { Classified } from './classify.js';
import type { ForwardResult } from './forward.js';

/** One proxied request as it moves through the stages. */
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
  /**
   * Parsed JSON body when the gateway holds the body (small or chunked JSON requests); null when
   * there is none or it is streamed. Parsed at most once. Throws GatewayError invalid_argument (400)
   * when the body is not JSON: a stage that must read the body refuses malformed ones by calling it.
   */
  json(): unknown;
  model: string | null;
  /** The upstream credential for this request; a stage may pick another (bring-your-own key, pools). */
  upstreamKey: { id: string | null; secret: string } | null;
  /** Headers added to the client response (request id, rate-limit headers…). */
  extraHeaders: Record<string, string>;
  /** Scratch space for stages to carry state from before() to after(). */
  state: Map<symbol, unknown>;
  startedAt: number;
  now: number;
}

/**
 * A step around the upstream call. `before` runs in order and refuses by throwing GatewayError
 * (nothing is forwarded); `responseHeaders` may edit upstream's headers before the client sees them;
 * `after` runs in reverse order once the exchange is over, whatever its outcome, and must not throw.
 */
export interface ProxyStage {
  name: string;
  before?(ctx: ProxyContext): void | Promise<void>;
  responseHeaders?(ctx: ProxyContext, status: number, headers: IncomingHttpHeaders): void;
  after?(ctx: ProxyContext, result: ForwardResult): void;
}
