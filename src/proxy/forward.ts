import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import { GatewayError, renderError } from '../errors.js';
import { createMeter, type Meter, type MeterResult } from '../metering/meter.js';
import type { Outcome } from '../metering/row.js';
import type { UsageFamily } from '../metering/usage.js';
import { ClientAborted } from './body.js';
import { HeldErrorBody, scrubHeaders } from './error-body.js';
import { clientResponseHeaders } from './headers.js';

export interface ForwardRequest {
  method: string;
  /** Upstream path with the query string, key already removed. */
  path: string;
  headers: string[];
  body: Buffer | Readable | null;
  family: UsageFamily | null;
  /** Added to the client response (e.g. the gateway's request id). */
  extraHeaders: Record<string, string>;
  startedAt: number;
  maxJsonBytes: number;
  /** Credentials upstream might echo (the upstream key): scrubbed from error bodies and headers. */
  secrets: readonly string[];
  /** May edit upstream's response headers in place before the client sees them. */
  onResponseHeaders?: (status: number, headers: IncomingHttpHeaders) => void;
}

export interface ForwardResult {
  status: number;
  outcome: Outcome;
  ttfbMs: number | null;
  bytesOut: number;
  meter: MeterResult;
  errorMessage?: string;
}

const NO_METER: MeterResult = { usage: null, model: null, sse: false, frames: 0, errorFrame: false, bareJsonLines: 0 };

/** undici's own timeout errors (connect incl. TLS handshake, response headers, idle body) and the OS's. */
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

export function isTimeout(err: Error): boolean {
  return TIMEOUT_CODES.has((err as { code?: string }).code ?? '');
}

class ClientGone extends Error {}

/**
 * Sends one request upstream and streams the answer to `res` as it arrives: status, headers minus
 * hop-by-hop ones, and the body bytes untouched (still compressed if upstream compressed them).
 * The meter reads the same chunks. Resolves once, when the exchange is over for any reason.
 */
export function forward(pool: Dispatcher, res: ServerResponse, req: ForwardRequest): Promise<ForwardResult> {
  return new Promise((resolve) => {
    let controller: Dispatcher.DispatchController | null = null;
    let meter: Meter | null = null;
    let held: HeldErrorBody | null = null;
    let status = 0;
    let sse = false;
    let chunked = false;
    let ttfbMs: number | null = null;
    let bytesOut = 0;
    let waitingDrain = false;
    let done = false;

    const settle = (outcome: Outcome, errorMessage?: string): void => {
      if (done) return;
      done = true;
      res.off('close', onClientClose);
      const metered = meter ? meter.finish() : Promise.resolve(NO_METER);
      void metered.then((m) => {
        const final: Outcome = outcome === 'ok' && (status >= 400 || m.errorFrame) ? 'upstream_error' : outcome;
        resolve({ status: status || res.statusCode, outcome: final, ttfbMs, bytesOut, meter: m, errorMessage });
      });
    };

    const clientGone = (): boolean => res.destroyed || !!res.socket?.destroyed;
    const onClientClose = (): void => {
      if (res.writableFinished) return;
      controller?.abort(new ClientGone('client disconnected'));
      settle('client_aborted');
    };
    res.on('close', onClientClose);

    const send = (chunk: Buffer, c: Dispatcher.DispatchController): void => {
      bytesOut += chunk.length;
      if (res.write(chunk) || waitingDrain) return;
      c.pause();
      waitingDrain = true;
      res.once('drain', () => {
        waitingDrain = false;
        controller?.resume();
      });
    };

    const answerItself = (ge: GatewayError): void => {
      status = ge.status;
      const body = renderError(ge, 'google');
      res.writeHead(ge.status, { 'content-type': 'application/json; charset=UTF-8', ...ge.options.headers, ...req.extraHeaders });
      res.end(body);
      bytesOut += Buffer.byteLength(body);
    };

    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c;
        if (done || res.destroyed) c.abort(new ClientGone('client disconnected'));
      },
      onResponseStart(_c, statusCode, headers) {
        if (statusCode < 200) return; // 1xx interim responses are not the answer
        status = statusCode;
        const contentType = first(headers['content-type']);
        const contentEncoding = first(headers['content-encoding']);
        sse = /^text\/event-stream/i.test(contentType ?? '');
        chunked = headers['content-length'] === undefined;
        meter = createMeter({ family: statusCode < 300 ? req.family : null, contentType, contentEncoding, maxJsonBytes: req.maxJsonBytes });
        req.onResponseHeaders?.(statusCode, headers as IncomingHttpHeaders);
        const out = { ...scrubHeaders(clientResponseHeaders(headers as IncomingHttpHeaders), req.secrets), ...req.extraHeaders };
        held = HeldErrorBody.forResponse(statusCode, out, contentEncoding, req.secrets);
        if (held) return; // written once complete (and scrubbed)
        res.writeHead(statusCode, out);
        // A stream's headers should reach the client now, not with the first frame.
        if (sse) res.flushHeaders();
      },
      onResponseData(c, chunk) {
        if (ttfbMs === null) ttfbMs = performance.now() - req.startedAt;
        meter!.push(chunk);
        if (held && held.add(chunk)) return;
        if (held) {
          // Too large to hold: send what was held, unscrubbed, and stream the rest.
          const { headers, body } = held.release();
          held = null;
          res.writeHead(status, headers);
          return send(body, c);
        }
        send(chunk, c);
      },
      onResponseEnd() {
        if (held) {
          const { headers, body } = held.finish();
          res.writeHead(status, headers);
          res.end(body);
          bytesOut += body.length;
        } else res.end();
        settle('ok');
      },
      onResponseError(_c, err) {
        if (err instanceof ClientGone || err instanceof ClientAborted || done || clientGone()) {
          res.destroy(); // a half-closed client socket would otherwise linger
          return settle('client_aborted');
        }
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
          const frame = errorFrame(req.family, timeout);
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

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** The stream's own error format, as Google emits it when a stream fails after it started. */
function errorFrame(family: UsageFamily | null, timeout: boolean): Buffer {
  const message = timeout ? 'Upstream stream stalled.' : 'Upstream stream failed.';
  if (family === 'interactions') {
    const code = timeout ? 'gateway_timeout' : 'service_unavailable';
    return Buffer.from(`event: error\r\ndata: ${JSON.stringify({ error: { code, message }, event_type: 'error' })}\r\n\r\n`);
  }
  const ge = new GatewayError(timeout ? 'deadline_exceeded' : 'unavailable', message);
  return Buffer.from(`data: ${renderError(ge, 'google')}\r\n\r\n`);
}
