// A gateway that cannot start says why in one line naming the variable to fix, exits non-zero, and
// prints no stack and no secret: what an operator sees in `docker logs` after a typo.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SECRETS = { ADMIN_TOKEN: 'admin-token-5be1c0d2a9', GEMINI_API_KEY: 'test-FAKE-startup-upstream-key-0123456789abcdef' };

function start(env: Record<string, string>): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: '0', HOST: '127.0.0.1', ...SECRETS, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve) => child.once('exit', (code) => (clearTimeout(timer), resolve({ code, stderr, stdout }))));
}

describe('startup errors', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'ggw-startup-'));
    writeFileSync(path.join(dir, 'plain-file'), 'x');
    writeFileSync(path.join(dir, 'garbage.db'), 'this is not a SQLite database, only text long enough to have a header'.repeat(4));
    mkdirSync(path.join(dir, 'a-directory.db'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const cases: Array<[string, Record<string, string>, string]> = [
    ['a DATABASE_PATH under a plain file', { DATABASE_PATH: 'plain-file/gateway.db' }, 'DATABASE_PATH'],
    ['a DATABASE_PATH that is a directory', { DATABASE_PATH: 'a-directory.db' }, 'DATABASE_PATH'],
    ['a DATABASE_PATH that is not a database', { DATABASE_PATH: 'garbage.db' }, 'DATABASE_PATH'],
  ];
  for (const [what, env, variable] of cases) {
    it(`${what}: one line naming ${variable}, exit 1, no stack, no secret`, async () => {
      const resolved = env.DATABASE_PATH && env.DATABASE_PATH !== ':memory:' ? { ...env, DATABASE_PATH: path.join(dir, env.DATABASE_PATH) } : env;
      const res = await start(resolved);
      expect(res.code).toBe(1);
      const lines = res.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^gemini-gateway: /);
      expect(lines[0]).toContain(variable);
      const out = res.stdout + res.stderr;
      expect(out).not.toMatch(/\n\s+at /);
      for (const s of [...Object.values(SECRETS), 'redis-pw-0a7c']) expect(out).not.toContain(s);
    }, 30_000);
  }

  it('a config error lists each bad variable on a line of its own, without its value', async () => {
    const res = await start({ REDIS_URL: 'redis://:redis-pw-0a7c@127.0.0.1:6379:abc', PORT: 'eighty', DATABASE_PATH: ':memory:' });
    expect(res.code).toBe(1);
    const lines = res.stderr.trim().split('\n');
    expect(lines[0]).toBe('gemini-gateway: invalid configuration:');
    expect(lines.slice(1).map((l) => l.replace(/:.*/, '')).sort()).toEqual(['  - PORT', '  - REDIS_URL']);
    expect(res.stderr).not.toContain('redis-pw-0a7c');
    expect(res.stderr).not.toMatch(/\n\s+at /);
  }, 30_000);
});
