import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { GatewayError, renderError } from '../errors.js';
import { createMeter, type Meter, type MeterResult } from '../metering/meter.js';
import type { Outcome } from '../metering/row.js';
import type { UsageFamily } from '../metering/usage.js';
import { errorFrame, upstreamFailureFrame } from './error-frame.js';
import { clientResponseHeaders } from './headers.js';
import { FrameGate, type StreamGuard } from './stream-guard.js';

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
  /** Watches running usage of a 2xx SSE stream and may end it between frames (hard cap). */
  guard?: StreamGuard | null;
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
const CR = 13;

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
    let lastByte = 0;
    let done = false;
    let gate: FrameGate | null = null;
    let draining = false;

    const settle = (outcome: Outcome, errorMessage?: string): void => {
      if (done) return;
      done = true;
      req.guard?.detach();
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

    const onDrain = (): void => {
      draining = false;
      controller?.resume();
    };
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
      // Frames can only be cut cleanly from a plain chunked SSE body; anything else streams as is.
      if (req.guard && req.family && status < 300 && sse && chunked && !headers['content-encoding']) {
        gate = new FrameGate(req.family, req.guard);
        req.guard.attach(cutStream);
      }
    };
    const write = (c: Dispatcher.DispatchController | null, chunk: Buffer): void => {
      if (ttfbMs === null) ttfbMs = performance.now() - req.startedAt;
      if (chunk.length === 0) return;
      bytesOut += chunk.length;
      lastByte = chunk[chunk.length - 1]!;
      meter!.push(chunk);
      if (!res.write(chunk) && c && !draining) {
        draining = true;
        c.pause();
        res.once('drain', onDrain);
      }
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
        if (done) return;
        if (held) {
          held.chunks.push(chunk);
          held.size += chunk.length;
          if (held.size <= HOLD_LIMIT) return;
          release();
          return;
        }
        if (!gate) return write(c, chunk);
        if (ttfbMs === null) ttfbMs = performance.now() - req.startedAt;
        for (const piece of gate.push(chunk)) write(c, piece);
        if (gate.stopped) cutStream(gate.stopped);
      },
      onResponseEnd(c) {
        if (done) return;
        if (gate) for (const piece of gate.end()) write(c, piece);
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
          const frame = upstreamFailureFrame(req.family, timeout);
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
