// A second gateway process on the same database without shared state would enforce every budget
// once more: it is refused at start with a message naming the fix. One gateway keeps working, a
// crashed one does not block its restart, and gateways that all share Redis start side by side.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path, { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { seedKey, startChildGateway, type ChildGateway } from '../support/child-gateway.js';
import { dropPrefix, testPrefix, TEST_REDIS_URL } from '../support/redis-server.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let dir: string;
let dbPath: string;
const children: ChildGateway[] = [];
const prefix = testPrefix();

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ggw-second-'));
  dbPath = join(dir, 'gateway.db');
  seedKey(dbPath);
});
afterEach(async () => {
  for (const c of children.splice(0)) if (c.process.exitCode === null && c.process.signalCode === null) c.process.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  await dropPrefix(TEST_REDIS_URL, prefix).catch(() => {});
});

async function start(env: Record<string, string> = {}) {
  const c = await startChildGateway({ DATABASE_PATH: dbPath, ...env });
  children.push(c);
  return c;
}

/** Runs a gateway expected to refuse to start: its exit code and stderr. */
function refused(env: Record<string, string> = {}): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: '0', HOST: '127.0.0.1', DATABASE_PATH: dbPath, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('a second gateway on one database', () => {
  it('without REDIS_URL is refused with a message naming the fix; the first keeps serving', async () => {
    const first = await start();
    const second = await refused();
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/another gateway \(pid \d+\) serves from .*gateway\.db without REDIS_URL/);
    expect(second.stderr).toContain('set REDIS_URL on every gateway');
    expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
  });

  it('after the first one crashed (SIGKILL), a new one starts', async () => {
    const first = await start();
    first.process.kill('SIGKILL');
    await first.exited;
    const again = await start();
    expect((await fetch(`${again.url}/healthz`)).status).toBe(200);
  });

  it.runIf(inject('redisAvailable'))('with REDIS_URL on every one they run side by side, and one without it is still refused', async () => {
    const shared = { REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: prefix };
    const a = await start(shared);
    const b = await start(shared);
    for (const g of [a, b]) expect((await fetch(`${g.url}/healthz`)).status).toBe(200);
    const lone = await refused();
    expect(lone.code).toBe(1);
    expect(lone.stderr).toMatch(/with shared state/);
  });

  it('REDIS_URL that does not answer: one clear line without the password, exit 1', async () => {
    const out = await refused({ REDIS_URL: 'redis://:hunter2-secret@127.0.0.1:1' });
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/^gemini-gateway: Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:1 is unreachable/);
    expect(out.stderr).not.toContain('hunter2');
    expect(out.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('REDIS_URL with the password as a ?password= parameter (ioredis reads it): not printed either', async () => {
    const out = await refused({ REDIS_URL: 'redis://127.0.0.1:1/?password=hunter3-secret&family=4' });
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/^gemini-gateway: Redis at redis:\/\/127\.0\.0\.1:1\/\?password=\*\*\*&family=4 is unreachable/);
    expect(out.stderr).not.toContain('hunter3');
  });

  it('UPSTREAM_BASE_URL carrying credentials: the listening line shows the upstream without them', async () => {
    const g = await start({ UPSTREAM_BASE_URL: 'http://ops:upstream-url-secret-42@127.0.0.1:9' });
    const line = await g.waitForLog((l) => l.msg === 'gemini-gateway listening');
    expect(line.upstream).toBe('http://***@127.0.0.1:9/');
    expect(g.output()).not.toContain('upstream-url-secret-42');
  });
});
