// `npm start` in a terminal prints readable lines; piped (containers, systemd, log shippers) it
// prints JSON. The gateway runs as its own process, once under a pseudo-terminal (util-linux
// `script`) and once with stdout piped.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const UPSTREAM = 'upstream-secret-for-tty-tests-0123456789';
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Starts the gateway, returns its output up to the "listening" line, then stops it. */
function firstLines(tty: boolean, env: Record<string, string> = {}): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'ggw-tty-'));
  dirs.push(dir);
  const command = [process.execPath, '--import', 'tsx', 'src/main.ts'];
  const child = tty
    ? spawn('script', ['-qfec', command.map((a) => `'${a}'`).join(' '), '/dev/null'], { cwd: repoRoot, env: childEnv(dir, env), stdio: ['pipe', 'pipe', 'pipe'] })
    : spawn(command[0]!, command.slice(1), { cwd: repoRoot, env: childEnv(dir, env), stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no "listening" line; got: ${out}`));
    }, 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (/listening/.test(out) && /\n/.test(out.slice(out.indexOf('listening')))) {
        clearTimeout(timer);
        child.kill('SIGTERM');
        child.once('exit', () => resolve(out));
      }
    });
  });
}

function childEnv(dir: string, env: Record<string, string>): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', TERM: 'dumb', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info',
    DATABASE_PATH: path.join(dir, 'gateway.db'), GEMINI_API_KEY: UPSTREAM, ...env,
  };
}

describe('log format of the running gateway', () => {
  it('prints readable lines on a terminal', async () => {
    // The listening line carries the process id (workers share a port); pino-pretty shows it as "(pid)".
    const out = (await firstLines(true)).replace(/\x1b\[[0-9;]*m/g, ''); // colours on a terminal
    expect(out).toMatch(/^\[\d{2}:\d{2}:\d{2}\.\d{3}\] INFO \(\d+\): gemini-gateway listening \{"url":"http:\/\/127\.0\.0\.1:\d+"/m);
    expect(out).not.toMatch(/^\{"level"/m);
    expect(out).not.toContain(UPSTREAM);
  }, 30_000);

  it('prints JSON lines when stdout is not a terminal, or when LOG_FORMAT=json says so on one', async () => {
    for (const tty of [false, true]) {
      const out = await firstLines(tty, tty ? { LOG_FORMAT: 'json' } : {});
      const line = out.split(/\r?\n/).find((l) => l.includes('listening'))!;
      expect(JSON.parse(line.slice(line.indexOf('{')))).toMatchObject({ level: 'info', msg: 'gemini-gateway listening' });
    }
  }, 60_000);
});
