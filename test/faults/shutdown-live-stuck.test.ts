// SIGTERM with a Live client that has stopped reading: it never answers the gateway's close frame,
// so its socket is only cut by the relay's close timeout, after the grace period's last wait for
// in-flight work. Its session row must still reach the database, not only the "unwritten" log line.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { seedKey, startChildGateway, type ChildGateway } from '../support/child-gateway.js';
import { loadLiveRecording, startFakeLive, type FakeLive } from '../support/fake-live-upstream.js';
import { UPSTREAM_KEY } from '../support/harness.js';
import { clientFrames, rawConnect } from '../support/live.js';

let dir: string | undefined;
let live: FakeLive | undefined;
let child: ChildGateway | undefined;
afterEach(async () => {
  if (child && child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
  await live?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('SIGTERM with a Live client that stopped reading', () => {
  it('writes its session row to the database and exits 0 within the grace period plus the close timeout', async () => {
    dir = mkdtempSync(join(tmpdir(), 'ggw-live-stuck-'));
    const dbPath = join(dir, 'gateway.db');
    const key = await seedKey(dbPath);
    const script = { steps: loadLiveRecording('should_send_text_in_async_session') };
    live = await startFakeLive({ upstreamKeys: () => [UPSTREAM_KEY], forbidden: () => [key], script });
    child = await startChildGateway({
      DATABASE_PATH: dbPath, UPSTREAM_BASE_URL: 'http://127.0.0.1:9', LIVE_UPSTREAM_BASE_URL: live.url, GEMINI_API_KEY: UPSTREAM_KEY, SHUTDOWN_GRACE_MS: '500',
    });
    const c = rawConnect(`${child.url.replace(/^http/, 'ws')}/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent?key=${key}`);
    await c.opened;
    c.ws.send(clientFrames(script)[0]!, { binary: false });
    await c.waitFrames(1);
    c.ws.pause();
    const t0 = Date.now();
    child.process.kill('SIGTERM');
    expect(await child.exited).toEqual({ code: 0, signal: null });
    // 500 ms of grace, then the relay's 5 s wait for a close answer that never comes.
    expect(Date.now() - t0).toBeLessThan(9000);
    c.ws.terminate();
    const db = new Database(dbPath, { readonly: true });
    const rows = db.prepare('SELECT endpoint, outcome, status FROM usage_events').all();
    db.close();
    expect(rows).toEqual([{ endpoint: 'live_session', outcome: 'client_aborted', status: 1001 }]);
    expect(child.logs.some((l) => l.msg === 'usage rows could not be written; recorded here instead')).toBe(false);
  }, 30_000);
});
