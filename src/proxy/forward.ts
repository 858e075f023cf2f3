import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { GatewayError, renderError } from '../errors.js';
import { createMeter, type Meter, type MeterResult } from '../metering/meter.js';
import type { Outcome } from '../metering/row.js';
import type { UsageFamily } from '../metering/usage.js';
import { clientResponseHeaders } from './headers.js';

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
  /** May edit upstream's response headers in place before the client sees them. */
  onResponseHeaders?: (status: number, headers: IncomingHttpHeaders) => void;
  /**
   * Answers with these statuses are held back whole (they are small error bodies) and handed to
   * `onHeld` before the client sees a byte; `true` means "retrying elsewhere": nothing is sent and
   * the result says `retry`.
   */
  hold?: ReadonlySet<number>;
  onHeld?: (status: number, headers: IncomingHttpHeaders, body: Buffer) => boolean;
}

export interface ForwardResult {
  status: number;
  outcome: Outcome;
  ttfbMs: number | null;
  bytesOut: number;
  meter: MeterResult;
  errorMessage?: string;
  /** The answer was held back and the caller chose to retry: the client has seen nothing. */
  retry?: boolean;
}

export const NO_METER: MeterResult = { usage: null, model: null, sse: false, frames: 0, errorFrame: false, bareJsonLines: 0 };

/** Held error bodies past this size are not about a key: they are delivered as they are. */
const HOLD_LIMIT = 64 * 1024;

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
    let status = 0;
    let sse = false;
    let chunked = false;
    let ttfbMs: number | null = null;
    let bytesOut = 0;
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

    const onClientClose = (): void => {
      if (res.writableFinished) return;
      controller?.abort(new ClientGone('client disconnected'));
      settle('client_aborted');
    };
    res.on('close', onClientClose);

    const onDrain = (): void => controller?.resume();
    let held: { headers: IncomingHttpHeaders; chunks: Buffer[]; size: number } | null = null;

    const start = (headers: IncomingHttpHeaders): void => {
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
      res.writeHead(status, { ...clientResponseHeaders(headers), ...req.extraHeaders });
      // A stream's headers should reach the client now, not with the first frame.
      if (sse) res.flushHeaders();
    };
    const write = (c: Dispatcher.DispatchController | null, chunk: Buffer): void => {
      if (ttfbMs === null) ttfbMs = performance.now() - req.startedAt;
      bytesOut += chunk.length;
      meter!.push(chunk);
      if (!res.write(chunk) && c) {
        c.pause();
        res.once('drain', onDrain);
      }
    };
    /** Sends a held answer on as if it had never been held. */
    const release = (): void => {
      const h = held!;
      held = null;
      start(h.headers);
      for (const chunk of h.chunks) write(controller, chunk);
    };

    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c;
        if (done || res.destroyed) c.abort(new ClientGone('client disconnected'));
      },
      onResponseStart(_c, statusCode, headers) {
        if (statusCode < 200) return; // 1xx interim responses are not the answer
        status = statusCode;
        if (req.hold?.has(statusCode)) held = { headers: headers as IncomingHttpHeaders, chunks: [], size: 0 };
        else start(headers as IncomingHttpHeaders);
      },
      onResponseData(c, chunk) {
        if (held) {
          held.chunks.push(chunk);
          held.size += chunk.length;
          if (held.size <= HOLD_LIMIT) return;
          release();
          return;
        }
        write(c, chunk);
      },
      onResponseEnd() {
        if (held) {
          const body = Buffer.concat(held.chunks, held.size);
          if (req.onHeld?.(status, held.headers, decodeQuietly(body, held.headers['content-encoding']))) {
            done = true;
            res.off('close', onClientClose);
            return resolve({ status, outcome: 'upstream_error', ttfbMs, bytesOut: 0, meter: NO_METER, retry: true });
          }
          release();
        }
        res.end();
        settle('ok');
      },
      onResponseError(_c, err) {
        if (err instanceof ClientGone || done) return settle('client_aborted');
        held = null; // nothing of it was sent: the client gets a clean 502 instead
        const timeout = /timeout/i.test(err.name) || /timeout/i.test((err as { code?: string }).code ?? '');
        if (!res.headersSent) {
          const ge = timeout
            ? new GatewayError('deadline_exceeded', 'Upstream did not answer in time.')
            : new GatewayError('bad_gateway', 'Upstream connection failed.');
          status = ge.status;
          const body = renderError(ge, 'google');
          res.writeHead(ge.status, { 'content-type': 'application/json; charset=UTF-8', ...req.extraHeaders });
          res.end(body);
          bytesOut += Buffer.byteLength(body);
          return settle('upstream_aborted', err.message);
        }
        // Mid-body: end the client's stream. A well-formed error frame only fits on a frame boundary.
        if (sse && chunked && meter?.atBoundary()) {
          const frame = errorFrame(req.family, timeout);
          res.end(frame);
          bytesOut += frame.length;
        } else {
          res.destroy();
        }
        settle('upstream_aborted', err.message);
      },
    };

    pool.dispatch({ method: req.method as Dispatcher.HttpMethod, path: req.path, headers: req.headers, body: req.body }, handler);
  });
}

function decodeQuietly(body: Buffer, encoding: string | string[] | undefined): Buffer {
  const e = first(encoding)?.trim().toLowerCase();
  try {
    if (e === 'gzip' || e === 'x-gzip') return gunzipSync(body);
    if (e === 'deflate') return inflateSync(body);
    if (e === 'br') return brotliDecompressSync(body);
  } catch {
    return Buffer.alloc(0);
  }
  return body;
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
