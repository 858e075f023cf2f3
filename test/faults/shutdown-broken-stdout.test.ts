// SIGTERM after the log reader went away (stdout a broken pipe: a journald restart, a dead log
// sidecar, `| head`). When the first write to find the pipe broken is still in flight at exit (here:
// an in-memory database, so the drain takes a millisecond; in general, the reader going away during
// the drain with nothing logged until "usage flushed"), pino's exit hook writes it again synchronously
// and retries EPIPE for ever: the process never exited, until the orchestrator killed it.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const kills: Array<() => void> = [];
afterEach(() => {
  for (const k of kills.splice(0)) k();
});

describe('SIGTERM with stdout a broken pipe', () => {
  it('still exits 0 promptly', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: '0', HOST: '127.0.0.1', DATABASE_PATH: ':memory:', GEMINI_API_KEY: 'test-upstream-key' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    kills.push(() => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'));
    const exited = new Promise<{ code: number | null; signal: string | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
    let text = '';
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        text += d.toString();
        if (text.includes('"msg":"gemini-gateway listening"')) resolve();
      });
    });
    // The reader goes away: every later write to stdout fails with EPIPE.
    child.stdout.destroy();
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGTERM');
    expect(await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running 10 s after SIGTERM'), 10_000))])).toEqual({ code: 0, signal: null });
  }, 30_000);
});
