import type { IncomingMessage } from 'node:http';
import { Transform, type Readable } from 'node:stream';
import { GatewayError } from '../errors.js';

/** Bodies up to this size with a declared length are read whole and sent as one buffer (half the CPU of streaming them). */
const BUFFER_LIMIT = 1024 * 1024;

export interface RequestBody {
  body: Buffer | Readable | null;
  /** Bytes sent upstream: declared, buffered, or counted as a chunked body flows. */
  length: () => number;
  /** The bytes, when the gateway holds them (small JSON requests). */
  buffered: Buffer | null;
}

interface BodyLimits {
  /** Any request outside /upload/ (JSON API calls). */
  maxJsonBytes: number;
  /** Requests under /upload/ (file bytes). */
  maxUploadBytes: number;
  /** Longest silence while the body arrives (0: none). */
  idleMs?: number;
}

export const NO_BODY: RequestBody = { body: null, length: () => 0, buffered: null };

/** The client went away while the gateway was still reading its request body. */
export class ClientAborted extends GatewayError {
  constructor() {
    super('invalid_argument', 'Request body was cut off.');
  }
}

function tooLarge(max: number, size?: number): GatewayError {
  const what = size === undefined ? 'Request body' : `Request body of ${size} bytes`;
  // The rest of the body is never read: the connection cannot be reused.
  return new GatewayError('payload_too_large', `${what} exceeds the gateway's limit of ${max} bytes.`, { headers: { connection: 'close' } });
}

/**
 * Decides how the request body travels. Small bodies with a content-length are collected (the
 * gateway reads model names and quota estimates from them), and so are chunked JSON bodies, which
 * must be complete before the limit can be checked; large declared bodies and chunked uploads are
 * streamed through untouched, counted against their limit on the way.
 */
export async function takeBody(req: IncomingMessage, limits: BodyLimits, isUpload: boolean): Promise<RequestBody> {
  if (req.method === 'GET' || req.method === 'HEAD') return NO_BODY;
  const declared = req.headers['content-length'];
  const length = declared === undefined ? null : Number(declared);
  if (length !== null && (!Number.isSafeInteger(length) || length < 0)) throw new GatewayError('invalid_argument', 'Invalid Content-Length.');
  const max = isUpload ? limits.maxUploadBytes : limits.maxJsonBytes;
  if (length !== null && length > max) throw tooLarge(max, length);
  if (length === 0) return { body: null, length: () => 0, buffered: Buffer.alloc(0) };
  // Node's parser enforces a declared length, so a declared body within the limit stays within it.
  if (length !== null && length > BUFFER_LIMIT) {
    // Streamed straight upstream: a stalled body can only be cut, with its connection.
    onSilence(req, limits.idleMs, () => req.destroy(stalled(limits.idleMs!)));
    return { body: req, length: () => length, buffered: null };
  }
  if (length === null && isUpload) {
    const body = counted(req, max);
    onSilence(req, limits.idleMs, () => (body.body as Transform).destroy(stalled(limits.idleMs!)));
    return body;
  }
  const buffered = await readAll(req, max, limits.idleMs);
  return { body: buffered, length: () => buffered.length, buffered };
}

function stalled(idleMs: number): GatewayError {
  return new GatewayError('invalid_argument', `No byte of the request body arrived for ${idleMs} ms.`, { headers: { connection: 'close' } });
}

/**
 * Calls `give` when no byte of the body arrives for `idleMs` (a slowloris client), through the
 * socket's idle timer, so no listener puts the body into flowing mode. The timer is off again once
 * the body has arrived: the wait for upstream's answer may be long and silent.
 */
function onSilence(req: IncomingMessage, idleMs: number | undefined, give: () => void): void {
  if (!idleMs || req.complete) return;
  const socket = req.socket;
  const off = (): void => {
    req.off('timeout', fire);
    req.off('end', off);
    socket.setTimeout(0);
  };
  const fire = (): void => {
    off();
    give();
  };
  req.setTimeout(idleMs, fire);
  req.once('end', off);
}

function readAll(req: IncomingMessage, max: number, idleMs?: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    onSilence(req, idleMs, () => {
      detach();
      reject(stalled(idleMs!));
    });
    const chunks: Buffer[] = [];
    let size = 0;
    // Every listener comes off as soon as the body is settled. Under load V8 allocates a request's
    // listener table in the old generation (allocation-site pretenuring), and young-generation GCs
    // treat whatever an old object points to as live: listeners left on it kept the request, its
    // body and its promise chain alive until the next full GC, ~2 KB promoted per request.
    const detach = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > max) {
        detach();
        reject(tooLarge(max));
      } else chunks.push(c);
    };
    const onEnd = (): void => {
      detach();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (): void => {
      detach();
      reject(new ClientAborted());
    };
    const onClose = (): void => {
      if (req.complete) return;
      detach();
      reject(new ClientAborted());
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/** A chunked upload has no declared length: count it on its way through and cut it at the limit. */
function counted(req: IncomingMessage, max: number): RequestBody {
  let n = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      n += chunk.length;
      if (n > max) cb(tooLarge(max));
      else cb(null, chunk);
    },
  });
  req.once('close', () => {
    if (!req.complete) counter.destroy(new ClientAborted());
  });
  // Its consumer (undici) listens for errors itself; before it does (stages still deciding), or
  // when it never does (the request was refused), an error here must not go unhandled: the pipe
  // re-throws one that nothing else listens for, and the process would end.
  counter.on('error', () => {});
  req.pipe(counter);
  return { body: counter, length: () => n, buffered: null };
}

/**
 * Reads a streamed body into memory when the gateway must inspect it (resource references in a
 * large JSON request). The body object is updated in place, so every stage and the forwarder see
 * the buffered bytes.
 */
export async function bufferBody(body: RequestBody, maxBytes: number): Promise<Buffer | null> {
  if (body.buffered || !body.body || Buffer.isBuffer(body.body)) return body.buffered;
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) {
        throw new GatewayError('payload_too_large', `Request body exceeds the gateway's limit of ${maxBytes} bytes.`);
      }
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    // The stream fails only when the client went away: recorded as client_aborted, like readAll's.
    throw new ClientAborted();
  }
  const buf = Buffer.concat(chunks, size);
  body.body = buf;
  body.buffered = buf;
  body.length = () => buf.length;
  return buf;
}
