import { RequestError } from '@hono/node-server';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { GatewayError, renderError } from '../errors.js';
import type { Logger } from '../logger.js';

/**
 * Requests Node's HTTP parser refuses before any handler runs — CR/LF or NUL in a header,
 * Content-Length together with Transfer-Encoding, duplicate or malformed Content-Length, unknown
 * transfer codings, headers over the size limit — get a 400 in Google's error shape and the
 * connection is closed, so nothing ambiguous is ever forwarded. `err.rawPacket` holds the client's
 * bytes (possibly a key) and is never logged.
 */
export function installClientErrorHandler(server: Server, log: Logger): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    // A response already under way on this socket must not get raw bytes spliced into it.
    const inProgress = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable || inProgress?.headersSent) {
      socket.destroy();
      return;
    }
    const timeout = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    const message = err.code === 'HPE_HEADER_OVERFLOW' ? 'Request headers are too large.' : timeout ? 'Request headers took too long.' : 'Malformed HTTP request.';
    log.warn({ code: err.code, remote: socket.remoteAddress }, 'refused unparseable request');
    // 400 for every parser-level refusal, timeouts included: the status line must be the body's code.
    const body = renderError(new GatewayError('invalid_argument', message), 'google');
    socket.end(`HTTP/1.1 400 Bad Request\r\ncontent-type: application/json; charset=UTF-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  });
  // Node hands CONNECT to this event, and without a listener drops the connection without a word.
  server.on('connect', (_req: unknown, socket: Socket) => {
    const body = renderError(new GatewayError('invalid_argument', 'CONNECT is not supported: this is an API gateway, not a forward proxy.'), 'google');
    socket.end(`HTTP/1.1 400 Bad Request\r\ncontent-type: application/json; charset=UTF-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  });
}

/**
 * For @hono/node-server's `errorHandler`: a request it cannot even turn into a URL (a backslash
 * in the path, `*`, a bad Host header) gets the same Google-shaped 400 instead of an empty one.
 */
export function unroutableRequest(err: unknown): Response {
  const ge = err instanceof RequestError ? new GatewayError('invalid_argument', 'Malformed request target or Host header.') : new GatewayError('internal', 'Internal gateway error.');
  return new Response(renderError(ge, 'google'), { status: ge.status, headers: { 'content-type': 'application/json; charset=UTF-8', connection: 'close' } });
}
