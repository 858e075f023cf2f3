import type { IncomingHttpHeaders } from 'node:http';
import type { UpstreamCredential } from '../exchange/stage.js';
import type { Upstream } from './connection.js';

/** An upstream resource read whole by the gateway itself (not for a client): status and parsed JSON. */
export interface ResourceAnswer {
  status: number;
  /** The parsed body; undefined when it was not JSON. */
  json: unknown;
  /** The body as received (a file's bytes, JSON lines). */
  body: Buffer;
  headers: IncomingHttpHeaders;
}

/** The answer was larger than the reader takes: reading it again would not help. */
export class AnswerTooLargeError extends Error {}

/** GET `path` (after the upstream base path, e.g. `/v1beta/batches/x`) with `key`. */
export type ResourceReader = (path: string, key: UpstreamCredential, signal?: AbortSignal) => Promise<ResourceAnswer>;

/**
 * Reads a resource over the data plane's pool (its connect, headers and body timeouts apply) with
 * only the headers the gateway itself needs: the key goes in `x-goog-api-key`, never the URL.
 * Rejects on a connection failure, a timeout, an abort or a body over `maxBytes`.
 */
export function createResourceReader(upstream: Upstream, maxBytes: number): ResourceReader {
  return async (path, key, signal) => {
    const answer = await upstream.pool.request({
      method: 'GET',
      path: upstream.basePath + path,
      headers: { 'x-goog-api-key': key.secret, 'accept-encoding': 'identity', accept: 'application/json' },
      signal,
    });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of answer.body) {
      size += (chunk as Buffer).length;
      if (size > maxBytes) {
        answer.body.destroy();
        throw new AnswerTooLargeError(`upstream answer larger than ${maxBytes} bytes`);
      }
      chunks.push(chunk as Buffer);
    }
    const body = Buffer.concat(chunks, size);
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      json = undefined;
    }
    return { status: answer.statusCode, json, body, headers: answer.headers as IncomingHttpHeaders };
  };
}
