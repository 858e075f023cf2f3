// Watches every byte a server writes to its clients (status lines, headers, bodies, raw error
// replies) for secrets, so a test fails when a key leaks into any response — not only into logs.
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export interface ResponseWatch {
  /** Where a secret was seen ("connection 3 carried secret #1"); never the secret itself. */
  leaks: string[];
}

type WriteFn = (chunk: unknown, ...rest: unknown[]) => unknown;

/** Taps socket.write/end of every connection the server accepts from now on. */
export function watchResponses(server: Server, secrets: () => string[]): ResponseWatch {
  const watch: ResponseWatch = { leaks: [] };
  let connections = 0;
  server.on('connection', (socket: Socket) => {
    const id = ++connections;
    let tail = '';
    const inspect = (chunk: unknown): void => {
      if (chunk === null || chunk === undefined || typeof chunk === 'function') return;
      const text = tail + (typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('latin1'));
      const list = secrets();
      list.forEach((s, i) => {
        if (text.includes(s)) watch.leaks.push(`connection ${id} carried secret #${i}`);
      });
      // Keep enough to catch a secret split across two writes.
      const keep = Math.max(0, ...list.map((s) => s.length)) - 1;
      tail = keep > 0 ? text.slice(-keep) : '';
    };
    for (const method of ['write', 'end'] as const) {
      const original = socket[method] as unknown as WriteFn;
      (socket as unknown as Record<string, WriteFn>)[method] = function (this: Socket, chunk: unknown, ...rest: unknown[]) {
        inspect(chunk);
        return original.call(this, chunk, ...rest);
      };
    }
  });
  return watch;
}
