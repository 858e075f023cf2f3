import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import { GatewayError, renderError } from '../errors.js';
import type { UpstreamAnswer, UpstreamReader } from '../exchange/stage.js';
import { scrubBody, scrubHeaders } from './error-body.js';
import { upstreamRequestHeaders } from './headers.js';
import { isTimeout } from './upstream-errors.js';

/**
 * Reads upstream answers whole for stages that answer the request themselves (filtered lists).
 * Same pool (so the same connect, headers and body timeouts) and the same header rules as
 * forward(): hop-by-hop and tenant-key headers dropped, the upstream key added, identity encoding
 * asked for because the gateway parses the body. The key is scrubbed from body and headers, since
 * an error can quote it. A failed connection becomes the same 502/504 forward() would answer.
 */
export function createUpstreamReader(pool: Dispatcher, basePath: string, maxBytes: number): UpstreamReader {
  return {
    async get(ctx, pathAndQuery, key) {
      const headers = upstreamRequestHeaders(ctx.incoming.rawHeaders, key.secret, false, true);
      const secrets = [key.secret];
      try {
        const answer = await pool.request({ method: 'GET', path: basePath + pathAndQuery, headers });
        const body = await readCapped(answer.body, maxBytes);
        const status = answer.statusCode;
        return {
          status,
          headers: scrubHeaders(answer.headers as Record<string, string | string[]>, secrets) as IncomingHttpHeaders,
          body: scrubBody(body, secrets),
          outcome: status < 300 ? 'ok' : 'upstream_error',
        };
      } catch (err) {
        if (err instanceof GatewayError) return failed(err, 'upstream_error');
        const timeout = isTimeout(err as Error);
        const ge = timeout ? new GatewayError('deadline_exceeded', 'Upstream did not answer in time.') : new GatewayError('bad_gateway', 'Upstream connection failed.');
        return failed(ge, timeout ? 'upstream_timeout' : 'upstream_aborted');
      }
    },
  };
}

function failed(ge: GatewayError, outcome: UpstreamAnswer['outcome']): UpstreamAnswer {
  return { status: ge.status, headers: { 'content-type': 'application/json; charset=UTF-8' }, body: Buffer.from(renderError(ge, 'google')), outcome };
}

/** The body, refusing one larger than a JSON request may be: a list page is never that large. */
async function readCapped(body: Dispatcher.ResponseData['body'], max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > max) {
      body.destroy();
      throw new GatewayError('bad_gateway', 'Upstream answer is larger than the gateway reads whole.');
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, size);
}
