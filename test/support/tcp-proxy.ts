// A TCP relay between a client and a server, which a test can cut (connections reset, new ones
// refused: what a database outage looks like to a driver) and restore, without touching the server
// other tests share.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { freePort } from './free-port.js';

export interface TcpProxy {
  port: number;
  /** `url` with its host and port replaced by the proxy's. */
  via(url: string): string;
  /** Resets every open connection and stops listening, so new connections are refused. */
  cut(): Promise<void>;
  /** Listens again on the same port. */
  restore(): Promise<void>;
  /**
   * Stops moving bytes either way without closing anything, like a network path that drops every
   * packet: connections stay open, new ones are accepted and then hear nothing.
   */
  freeze(): void;
  /** Bytes flow again; what was held is delivered, as TCP retransmission would. */
  thaw(): void;
  /**
   * The connections open now stop moving bytes for good, without closing (their path died: a
   * failover, a dropped route); connections made afterwards work.
   */
  strand(): void;
  /**
   * Once: the next client message containing `marker` reaches the server, but the server's reply
   * never reaches the client, whose connection is reset (a COMMIT that committed, its reply lost).
   * Resolves when it has happened.
   */
  loseReplyTo(marker: string): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<[Socket, Socket]>();
  let armed: { marker: Buffer; done: () => void } | null = null;
  // Cut and restored on the same port, so it is not taken from the ephemeral range (see free-port.ts).
  let port = await freePort();
  let server: Server;
  let frozen = false;
  const stranded = new WeakSet<[Socket, Socket]>();

  const onConnection = (client: Socket): void => {
    const upstream = connect(target.port, target.host);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    if (frozen) pair.forEach((x) => x.pause());
    let replies = true;
    const end = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      if (armed && chunk.includes(armed.marker)) {
        const { done } = armed;
        armed = null;
        replies = false;
        // The client loses its connection at once; the server gets time to act on what it received.
        client.resetAndDestroy();
        setTimeout(() => {
          end();
          done();
        }, 200);
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      if (replies) client.write(chunk);
    });
    client.on('error', end).on('close', () => replies && end());
    upstream.on('error', end).on('close', end);
  };

  const listen = (): Promise<void> =>
    new Promise((resolve, reject) => {
      server = createServer(onConnection);
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        port = (server.address() as { port: number }).port;
        resolve();
      });
    });
  await listen();

  const cut = async (): Promise<void> => {
    const closed = new Promise<void>((r) => server.close(() => r()));
    for (const [client, upstream] of pairs) {
      client.resetAndDestroy();
      upstream.destroy();
    }
    pairs.clear();
    await closed;
  };

  return {
    get port() {
      return port;
    },
    via(url) {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    cut,
    restore: listen,
    freeze() {
      frozen = true;
      for (const pair of pairs) pair.forEach((x) => x.pause());
    },
    thaw() {
      frozen = false;
      for (const pair of pairs) if (!stranded.has(pair)) pair.forEach((x) => x.resume());
    },
    strand() {
      for (const pair of pairs) {
        stranded.add(pair);
        pair.forEach((x) => x.pause());
      }
    },
    loseReplyTo: (marker) => new Promise<void>((done) => (armed = { marker: Buffer.from(marker), done })),
    close: () => (server.listening ? cut() : Promise.resolve()),
  };
}
