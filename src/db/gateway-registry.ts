import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Another gateway serves from the same database in a way that would multiply every budget. */
export class SharedDatabaseError extends Error {}

interface Peer {
  pid: number;
  /** null: alive (it accepted the connection) but it did not say in time. */
  shared: boolean | null;
}

/**
 * Who else serves from this SQLite file. Each gateway listens on a Unix socket of its own in a
 * directory beside the database (or under the temp dir when that path is too long for a socket)
 * and answers with its pid and whether it shares state through Redis. A crashed gateway leaves a
 * socket nobody answers on, which the next start removes; nothing goes stale the way a heartbeat
 * row or a lock file would.
 */
export async function registerGateway(dbPath: string, shared: boolean): Promise<{ release(): void }> {
  const dir = registryDir(dbPath);
  mkdirSync(dir, { recursive: true });
  const own = path.join(dir, `${process.pid}.sock`);
  rmSync(own, { force: true });
  const server = await listen(own, JSON.stringify({ pid: process.pid, shared } satisfies Peer));
  const release = () => {
    server.close();
    rmSync(own, { force: true });
  };
  // Listening before looking: two gateways starting together see each other (and both refuse).
  const peers: Peer[] = [];
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    if (file === own || !name.endsWith('.sock')) continue;
    const peer = await ask(file);
    if (peer) peers.push(peer);
    else rmSync(file, { force: true });
  }
  // A peer that did not say is refused only beside a gateway without REDIS_URL: a sibling worker
  // busy starting must not stop a shared one.
  const unshared = peers.find((p) => p.shared === false);
  const conflict = !shared ? peers[0] : unshared;
  if (conflict) {
    release();
    throw new SharedDatabaseError(
      `another gateway (pid ${conflict.pid}) serves from ${dbPath}${conflict.shared ? ' with shared state' : conflict.shared === false ? ' without REDIS_URL' : ''}: ` +
        'several gateways on one database must all set REDIS_URL (the same Redis), or each budget would be enforced once per gateway; stop the other one or set REDIS_URL on every gateway',
    );
  }
  return { release };
}

function registryDir(dbPath: string): string {
  const beside = `${path.resolve(dbPath)}.gateways`;
  // Unix socket paths are limited to ~104 bytes.
  if (Buffer.byteLength(path.join(beside, '4294967295.sock')) < 100) return beside;
  return path.join(tmpdir(), `gemini-gateway-${createHash('sha256').update(path.resolve(dbPath)).digest('hex').slice(0, 16)}`);
}

function listen(file: string, answer: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => socket.end(answer));
    server.once('error', reject);
    server.listen(file, () => {
      server.unref();
      resolve(server);
    });
  });
}

/**
 * The peer listening on `file`, or null when nobody does (a crashed gateway's socket). One that
 * accepts but does not answer within a second is alive (its event loop busy, or the process
 * stopped): its socket stays, or the next gateway would never see it again.
 */
function ask(file: string): Promise<Peer | null> {
  return new Promise((resolve) => {
    let text = '';
    let connected = false;
    const socket = connect(file, () => (connected = true));
    const done = (peer: Peer | null) => {
      socket.destroy();
      resolve(peer);
    };
    socket.setTimeout(1000, () => done(connected ? { pid: Number.parseInt(path.basename(file), 10), shared: null } : null));
    socket.on('data', (d) => (text += d.toString()));
    socket.on('end', () => {
      try {
        done(JSON.parse(text) as Peer);
      } catch {
        done(null);
      }
    });
    socket.on('error', () => done(null));
  });
}
