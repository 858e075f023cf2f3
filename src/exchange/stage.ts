import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Principal } from './principal.js';
import type { RequestBody } from './body.js';
import type { Classified } from './classify.js';
import type { MeterResult } from '../metering/meter.js';
import type { Outcome } from '../metering/row.js';
import type { StreamGuard } from './stream-guard.js';

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
  /** [name, value, …] added to the upstream request, replacing any the client sent under those names (trace context). */
  upstreamHeaders: string[] | null;
  /** Headers added to the client response (request id, rate-limit headers…). */
  extraHeaders: Record<string, string>;
  /** Keep the 2xx response's parsed JSON (or first SSE frame) in `result.meter.head` for after(). */
  captureResponse: boolean;
  /**
   * Set by the key-pool stage: told of an upstream answer that may be the key's fault (429, quota,
   * invalid key) before the client saw any of it. Returns the credential to retry with (and makes
   * it ctx.upstreamKey), or null to deliver the answer. `replayable`: the gateway holds the body.
   */
  upstreamFailure: ((status: number, headers: IncomingHttpHeaders, body: Buffer, replayable: boolean) => UpstreamCredential | null) | null;
  /** A stage that needs the whole upstream answer (filtered lists) answers the request itself instead of forward(). */
  takeover: ((res: ServerResponse) => Promise<ExchangeResult>) | null;
  /** Set by a stage to watch a stream's running usage and end it between frames (the quota hard cap). */
  streamGuard: StreamGuard | null;
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
  after?(ctx: ProxyContext, result: ExchangeResult): void;
}
