// Byte-level clients for fault tests: what exactly reached the client, and how the connection ended.
import http from 'node:http';
import net from 'node:net';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** Set when the connection broke before the response completed. */
  error?: string;
}

export interface RawRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Called with the live request once the response head arrived (e.g. to abort mid-stream). */
  onResponse?: (req: http.ClientRequest, res: http.IncomingMessage) => void;
  localAddress?: string;
}

/** One request on a fresh connection; resolves (never rejects) with whatever arrived. */
export function rawRequest(url: string, opts: RawRequestOptions = {}): Promise<RawResponse> {
  return new Promise((resolve) => {
    let status = 0;
    let headers: http.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    const done = (error?: string): void => resolve({ status, headers, body: Buffer.concat(chunks), ...(error ? { error } : {}) });
    const req = http.request(url, { method: opts.method ?? 'POST', headers: opts.headers, agent: false, localAddress: opts.localAddress }, (res) => {
      status = res.statusCode ?? 0;
      headers = res.headers;
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done());
      res.on('error', (e) => done(e.message));
      res.on('aborted', () => done('aborted'));
      opts.onResponse?.(req, res);
    });
    req.on('error', (e) => done(e.message));
    req.end(opts.body);
  });
}

/** Writes raw bytes on a TCP connection and returns everything the server sent until it closed. */
export function rawExchange(port: number, bytes: string | Buffer, waitMs = 2000): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(), waitMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
    socket.write(bytes);
  });
}

/** Status code and body of a raw HTTP/1.1 response text. */
export function parseRaw(text: string): { status: number; head: string; body: string } {
  const split = text.indexOf('\r\n\r\n');
  const head = split === -1 ? text : text.slice(0, split);
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), head, body: split === -1 ? '' : text.slice(split + 4) };
}
