// The SQLite gateway registry against a peer that is alive but slow to answer (its event loop busy,
// or the process stopped): it must neither be mistaken for a crashed one nor have its socket removed.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { registerGateway, SharedDatabaseError } from '../../src/db/gateway-registry.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** A gateway registered on `dbPath` that accepts connections and never answers. */
async function silentPeer(dbPath: string, pid: number): Promise<string> {
  const dir = `${dbPath}.gateways`;
  await registerGateway(dbPath, true).then((r) => r.release());
  const file = join(dir, `${pid}.sock`);
  const held: Socket[] = [];
  const server: Server = createServer((s) => void held.push(s));
  await new Promise<void>((r) => server.listen(file, () => r()));
  cleanups.push(() => {
    for (const s of held) s.destroy();
    server.close();
  });
  return file;
}

describe('gateway registry (SQLite)', () => {
  it('a peer that is alive but does not answer in time keeps its socket, and a gateway without REDIS_URL is refused beside it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ggw-reg-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const dbPath = join(dir, 'g.db');
    const peer = await silentPeer(dbPath, 999_999);
    await expect(registerGateway(dbPath, false)).rejects.toThrow(SharedDatabaseError);
    expect(existsSync(peer)).toBe(true);
    // A shared gateway is not held up by it (it may be a sibling worker still starting).
    (await registerGateway(dbPath, true)).release();
    expect(existsSync(peer)).toBe(true);
  });
});
