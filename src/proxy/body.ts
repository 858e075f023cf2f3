import type { IncomingMessage } from 'node:http';
import { Transform, type Readable } from 'node:stream';
import { GatewayError } from '../errors.js';

/** Bodies up to this size with a declared length are read whole and sent as one buffer (half the CPU of streaming them). */
export const BUFFER_LIMIT = 1024 * 1024;

export interface RequestBody {
  body: Buffer | Readable | null;
  /** Bytes sent upstream: declared, buffered, or counted as a chunked body flows. */
  length: () => number;
  /** The bytes, when the gateway holds them (small JSON requests). */
  buffered: Buffer | null;
}

/**
 * Decides how the request body travels. Small bodies with a content-length are collected (the
 * gateway also reads model names and, later, quota estimates from them); large or chunked ones are
 * streamed through untouched, so uploads are never held in memory.
 */
export async function takeBody(req: IncomingMessage, maxJsonBytes: number, isUpload: boolean): Promise<RequestBody> {
  if (req.method === 'GET' || req.method === 'HEAD') return { body: null, length: () => 0, buffered: null };
  const declared = req.headers['content-length'];
  const length = declared === undefined ? null : Number(declared);
  if (length !== null && (!Number.isSafeInteger(length) || length < 0)) throw new GatewayError('invalid_argument', 'Invalid Content-Length.');
  if (!isUpload && length !== null && length > maxJsonBytes) {
    throw new GatewayError('payload_too_large', `Request body of ${length} bytes exceeds the gateway's limit of ${maxJsonBytes} bytes.`);
  }
  if (length === 0) return { body: null, length: () => 0, buffered: Buffer.alloc(0) };
  if (length !== null && length > BUFFER_LIMIT) return { body: req, length: () => length, buffered: null };
  if (length === null) return counted(req);
  const buffered = await readAll(req, length);
  return { body: buffered, length: () => buffered.length, buffered };
}

function readAll(req: IncomingMessage, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      chunks.push(c);
    });
    req.once('end', () => resolve(size === length && chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
    req.once('error', () => reject(new GatewayError('invalid_argument', 'Request body was cut off.')));
    req.once('aborted', () => reject(new GatewayError('invalid_argument', 'Request body was cut off.')));
  });
}

/** A chunked body has no declared length: count it on its way through. */
function counted(req: IncomingMessage): RequestBody {
  let n = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      n += chunk.length;
      cb(null, chunk);
    },
  });
  req.once('aborted', () => counter.destroy(new Error('client aborted upload')));
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
    throw new GatewayError('invalid_argument', 'Request body was cut off.');
  }
  const buf = Buffer.concat(chunks, size);
  body.body = buf;
  body.buffered = buf;
  body.length = () => buf.length;
  return buf;
}
