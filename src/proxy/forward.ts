import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import { GatewayError, renderError } from '../errors.js';
import { createMeter, NO_METER, type Meter } from '../metering/meter.js';
import { CLIENT_CLOSED_REQUEST, type Outcome } from '../metering/row.js';
import type { ExchangeResult } from '../exchange/stage.js';
import type { UsageFamily } from '../metering/usage.js';
import { ClientAborted } from '../exchange/body.js';
import { decodeQuietly, HOLD_LIMIT, SCRUB_LIMIT, scrubbable, scrubHeaders, scrubHeld } from './error-body.js';
import { clientResponseHeaders, first } from './headers.js';
import { errorFrame, upstreamFailureFrame } from './error-frame.js';
import { FrameGate, type StreamGuard } from '../exchange/stream-guard.js';
import { isTimeout } from './upstream-errors.js';

export interface ForwardRequest {
  method: string;
  /** Upstream path with the query string, key already removed. */
  path: string;
  headers: string[];
  body: Buffer | Readable | null;
  family: UsageFamily | null;
  /** Keep the parsed JSON body (or first SSE frame) of a 2xx answer: it names resources the response created. */
  capture?: boolean;
  /** Added to the client response (e.g. the gateway's request id). */
  extraHeaders: Record<string, string>;
  startedAt: number;
  maxJsonBytes: number;
  /** Credentials upstream might echo (the upstream key): scrubbed from error bodies and all headers. */
  secrets: readonly string[];
  /** May edit upstream's response headers in place before the client sees them. */
  onResponseHeaders?: (status: number, headers: IncomingHttpHeaders) => void;
  /**
   * Answers with these statuses are held back whole (they are small error bodies) and handed to
   * `onHeld` before the client sees a byte; `true` means "retrying elsewhere": nothing is sent and
   * the result says `retry`.
   */
  hold?: ReadonlySet<number>;
  onHeld?: (status: number, headers: IncomingHttpHeaders, body: Buffer) => boolean;
  /** Watches running usage of a 2xx SSE stream and may end it between frames (hard cap). */
  guard?: StreamGuard | null;
}


const CR = 13;

class ClientGone extends Error {}

interface Held {
  headers: IncomingHttpHeaders;
  chunks: Buffer[];
  size: number;
  /** Held to scrub echoed credentials (not only to decide on a retry). */
  scrub: boolean;
}

/**
 * Sends one request upstream and streams the answer to `res` as it arrives: status, headers minus
 * hop-by-hop ones, and the body bytes untouched (still compressed if upstream compressed them).
 * The meter reads the same chunks. Small error answers are held until complete (to retry them on
 * another key, and to scrub a credential they echo). Resolves once, when the exchange is over.
 */
export function forward(pool: Dispatcher, res: ServerResponse, req: ForwardRequest): Promise<ExchangeResult> {
  return new Promise((resolve) => {
    let controller: Dispatcher.DispatchController | null = null;
    let meter: Meter | null = null;
    let held: Held | null = null;
    let status = 0;
    let sse = false;
    let chunked = false;
    let ttfbMs: number | null = null;
    let bytesOut = 0;
    let waitingDrain = false;
    let lastByte = 0;
    let gate: FrameGate | null = null;
    let done = false;

    const settle = (outcome: Outcome, errorMessage?: string): void => {
      if (done) return;
      done = true;
      req.guard?.detach();
      res.off('close', onClientClose);
      // A client that left before any header went out never got upstream's status (nor res's default 200).
      const sent = outcome === 'client_aborted' && !res.headersSent ? CLIENT_CLOSED_REQUEST : status || res.statusCode;
      const metered = meter ? meter.finish() : Promise.resolve(NO_METER);
      void metered.then((m) => {
        const final: Outcome = outcome === 'ok' && (status >= 400 || m.errorFrame) ? 'upstream_error' : outcome;
        resolve({ status: sent, outcome: final, ttfbMs, bytesOut, meter: m, errorMessage });
      });
    };

    const clientGone = (): boolean => res.destroyed || !!res.socket?.destroyed;
    const onClientClose = (): void => {
      if (res.writableFinished) return;
      controller?.abort(new ClientGone('client disconnected'));
      settle('client_aborted');
    };
    res.on('close', onClientClose);

    /** Status line and headers to the client; `bodyLength` replaces upstream's when the body was scrubbed. */
    const start = (headers: IncomingHttpHeaders, bodyLength?: number): void => {
      const contentType = first(headers['content-type']);
      sse = /^text\/event-stream/i.test(contentType ?? '');
      chunked = headers['content-length'] === undefined;
      meter = createMeter({
        family: status < 300 ? req.family : null,
        capture: status < 300 && req.capture === true,
        contentType,
        contentEncoding: first(headers['content-encoding']),
        maxJsonBytes: req.maxJsonBytes,
      });
      req.onResponseHeaders?.(status, headers);
      // Assigned rather than spread into a new object: spreads leave V8 a dictionary-mode object per response.
      const out = scrubHeaders(clientResponseHeaders(headers), req.secrets);
      for (const name in req.extraHeaders) out[name] = req.extraHeaders[name]!;
      if (bodyLength !== undefined && !chunked) out['content-length'] = String(bodyLength);
      res.writeHead(status, out);
      // A stream's headers should reach the client now, not with the first frame.
      if (sse) res.flushHeaders();
      // Frames can only be cut cleanly from a plain chunked SSE body; anything else streams as is.
      if (req.guard && req.family && status < 300 && sse && chunked && !headers['content-encoding']) {
        gate = new FrameGate(req.family, req.guard);
        req.guard.attach(cutStream);
      }
    };
    const write = (chunk: Buffer): void => {
      if (ttfbMs === null) ttfbMs = performance.now() - req.startedAt;
      if (chunk.length === 0) return;
      bytesOut += chunk.length;
      lastByte = chunk[chunk.length - 1]!;
      meter!.push(chunk);
      if (res.write(chunk) || waitingDrain || !controller) return;
      controller.pause();
      waitingDrain = true;
      res.once('drain', () => {
        waitingDrain = false;
        controller?.resume();
      });
    };
    /** Ends a gated stream between two frames with a quota error frame, and stops upstream. */
    const cutStream = (err: GatewayError): void => {
      if (done) return;
      const frame = errorFrame(req.family, err, lastByte === CR);
      res.end(frame);
      bytesOut += frame.length;
      settle('quota_cut', err.message);
      controller?.abort(new ClientGone('stream ended by the hard cap'));
    };
    /**
     * Sends a held answer on: scrubbed when it was held for that and is complete, else as received.
     * False when it could not be searched and the gateway answered in its place (unrelayed()).
     */
    const release = (complete: boolean): boolean => {
      const h = held!;
      held = null;
      const raw = Buffer.concat(h.chunks, h.size);
      const body = complete && h.scrub ? scrubHeld(raw, h.headers, req.secrets) : raw;
      if (body === null) {
        unrelayed('Upstream answered with an error the gateway could not check.', 'upstream error body could not be decoded to be searched, not relayed');
        return false;
      }
      start(h.headers, body === raw ? undefined : body.length);
      write(body);
      return true;
    };
    const answerItself = (ge: GatewayError): void => {
      status = ge.status;
      const body = renderError(ge, 'google');
      res.writeHead(ge.status, { 'content-type': 'application/json; charset=UTF-8', ...ge.options.headers, ...req.extraHeaders });
      res.end(body);
      bytesOut += Buffer.byteLength(body);
    };
    /**
     * An error answer that cannot be searched for an echoed credential (too large, or compressed past
     * decoding) is not relayed: the client gets a 502, and the rest of upstream's body is read and
     * dropped (settled, so every chunk is ignored).
     */
    const unrelayed = (message: string, reason: string): void => {
      held = null;
      answerItself(new GatewayError('bad_gateway', message));
      settle('upstream_error', reason);
    };
    const oversized = (): void => unrelayed('Upstream answered with an error too large to relay.', `upstream error body over ${SCRUB_LIMIT} bytes, not relayed`);

    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c;
        if (done || res.destroyed) c.abort(new ClientGone('client disconnected'));
      },
      onResponseStart(_c, statusCode, headers) {
        if (statusCode < 200) return; // 1xx interim responses are not the answer
        status = statusCode;
        const h = headers as IncomingHttpHeaders;
        const scrub = scrubbable(statusCode, h);
        if (scrub && Number(h['content-length'] ?? 0) > SCRUB_LIMIT) return oversized();
        if (scrub || req.hold?.has(statusCode)) held = { headers: h, chunks: [], size: 0, scrub };
        else start(h);
      },
      onResponseData(_c, chunk) {
        if (done) return;
        if (ttfbMs === null) ttfbMs = performance.now() - req.startedAt;
        if (!held) {
          if (!gate) return write(chunk);
          for (const piece of gate.push(chunk)) write(piece);
          if (gate.stopped) cutStream(gate.stopped);
          return;
        }
        held.chunks.push(chunk);
        held.size += chunk.length;
        // Held only for a retry decision, and too large to be about a key: deliver it as it is and stream the rest.
        if (!held.scrub && held.size > HOLD_LIMIT) release(false);
        else if (held.size > SCRUB_LIMIT) oversized();
      },
      onResponseEnd() {
        if (done) return;
        if (gate) for (const piece of gate.end()) write(piece);
        if (held) {
          const body = Buffer.concat(held.chunks, held.size);
          if (req.hold?.has(status) && req.onHeld?.(status, held.headers, decodeQuietly(body, held.headers['content-encoding']) ?? Buffer.alloc(0))) {
            done = true;
            res.off('close', onClientClose);
            return resolve({ status, outcome: 'upstream_error', ttfbMs, bytesOut: 0, meter: NO_METER, retry: true });
          }
          if (!release(true)) return;
        }
        res.end();
        settle('ok');
      },
      onResponseError(_c, err) {
        if (err instanceof ClientGone || err instanceof ClientAborted || done || clientGone()) {
          res.destroy(); // a half-closed client socket would otherwise linger
          return settle('client_aborted');
        }
        held = null; // nothing of it was sent: the client gets a clean 502/504 instead
        const timeout = isTimeout(err);
        const outcome: Outcome = timeout ? 'upstream_timeout' : 'upstream_aborted';
        if (!res.headersSent) {
          // The request body itself was refused on the way (an upload over its limit).
          if (err instanceof GatewayError) {
            answerItself(err);
            return settle('gateway_error', err.message);
          }
          answerItself(
            timeout ? new GatewayError('deadline_exceeded', 'Upstream did not answer in time.') : new GatewayError('bad_gateway', 'Upstream connection failed.'),
          );
          return settle(outcome, err.message);
        }
        // Mid-body: end the client's stream. A well-formed error frame only fits on a frame boundary.
        if (sse && chunked && meter?.atBoundary()) {
          const frame = upstreamFailureFrame(req.family, timeout);
          res.end(frame);
          bytesOut += frame.length;
        } else {
          res.destroy();
        }
        settle(outcome, err.message);
      },
    };

    pool.dispatch({ method: req.method as Dispatcher.HttpMethod, path: req.path, headers: req.headers, body: req.body }, handler);
  });
}
