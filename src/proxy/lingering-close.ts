import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface LingeringOptions {
  /** Longest the gateway keeps discarding a refused body after its response (nginx lingering_time). */
  timeMs: number;
  /** Longest it waits for the next byte of that body (nginx lingering_timeout). */
  timeoutMs: number;
  /** Most bytes it discards before giving up. */
  maxBytes: number;
}

/**
 * Lingering close. A refusal (413, 401, 429, …) is often written while the client is still sending
 * its body, and many clients read nothing until they have sent all of it. Closing at once would
 * leave those bytes unread, the kernel would answer them with a reset, and the client would lose
 * the response it had not read yet. So a response written while the request body is still
 * arriving carries `connection: close`; after it, the gateway half-closes (FIN, so the client sees
 * the complete response) and keeps reading and discarding the body until it ends or a bound is
 * reached — total time, idle time, bytes — and only then closes the socket.
 *
 * Node ends such a connection through `socket.destroySoon()` once the response is written; the
 * lingering replaces that call on the one socket, so every other connection keeps Node's behaviour.
 */
export function installLingeringClose(server: Server, o: LingeringOptions): void {
  const enabled = o.timeMs > 0 && o.timeoutMs > 0 && o.maxBytes > 0;
  // First in line, so the head is wrapped before any handler can write it.
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    if (!enabled || req.complete) return;
    const writeHead = res.writeHead;
    // Decided when the head is written: only then is it known whether the body is still arriving.
    res.writeHead = function (this: ServerResponse, ...args: Parameters<typeof writeHead>) {
      if (!req.complete && statusOf(args, res) >= 400) {
        res.setHeader('connection', 'close');
        const discard = discardBody(req, o);
        const socket = req.socket;
        socket.destroySoon = () => discard.linger();
      }
      return writeHead.apply(this, args);
    } as typeof writeHead;
  });
}

function statusOf(args: unknown[], res: ServerResponse): number {
  return typeof args[0] === 'number' ? args[0] : res.statusCode;
}

/**
 * Starts discarding the rest of the body now (reading it also keeps Node from "dumping" the
 * request, which would swallow the bytes uncounted); `linger()` then sends FIN and closes at the
 * end of the body or at the first bound hit.
 */
function discardBody(req: IncomingMessage, o: LingeringOptions): { linger(): void } {
  const socket = req.socket;
  let discarded = 0;
  let lingering = false;
  let idle: NodeJS.Timeout | undefined;
  let total: NodeJS.Timeout | undefined;
  const close = () => socket.destroy();
  // Once the response has left (its bytes handed to the kernel), as Node's own destroySoon does.
  let closing = false;
  const closeWhenSent = () => {
    if (closing) return;
    closing = true;
    if (socket.writableFinished) close();
    else socket.once('finish', close);
  };
  const arm = () => {
    clearTimeout(idle);
    idle = setTimeout(close, o.timeoutMs);
  };
  const onData = (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > o.maxBytes) closeWhenSent();
    else if (lingering) arm();
  };
  req.on('data', onData);
  req.resume();
  socket.once('close', () => {
    socket.off('finish', close);
    clearTimeout(total);
    clearTimeout(idle);
    req.off('data', onData);
  });
  return {
    linger() {
      lingering = true;
      socket.end();
      // The body has all arrived: nothing is left to reset, so the socket can go.
      if (req.complete) return closeWhenSent();
      req.once('end', closeWhenSent);
      total = setTimeout(close, o.timeMs);
      arm();
    },
  };
}
