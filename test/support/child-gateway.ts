// The gateway as operators run it: `node --import tsx src/main.ts` in its own process, configured
// by environment, logging JSON lines to stdout. For signals, crashes and per-process memory.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createKeyFor } from '../../src/accounts/issue-key.js';
import { systemClock } from '../../src/clock.js';
import { openDb } from '../../src/db/client.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface ChildGateway {
  url: string;
  pid: number;
  process: ChildProcess;
  /** Parsed stdout log lines so far (non-JSON lines are kept as { raw }). */
  logs: Array<Record<string, unknown>>;
  /** Raw stdout + stderr text, for secret checks. */
  output(): string;
  /** Resolves with the first log line matching, waiting for it if needed. */
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Creates a key in a fresh database file before any gateway opens it; migrations run here. */
export async function seedKey(dbPath: string): Promise<string> {
  const db = openDb(dbPath);
  try {
    return (await createKeyFor(db, systemClock, { tenant: 'acme', project: 'web' })).key;
  } finally {
    db.$client.close();
  }
}

export async function startChildGateway(env: Record<string, string>): Promise<ChildGateway> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: repoRoot,
    // Only what is given: nothing from the developer's shell changes the configuration.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  let text = '';
  let partial = '';
  const waiters: Array<() => void> = [];
  child.stdout!.on('data', (d: Buffer) => {
    text += d.toString();
    partial += d.toString();
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const line of lines.filter(Boolean)) {
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ raw: line });
      }
    }
    for (const w of waiters.splice(0)) w();
  });
  child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      resolve({ code, signal });
      for (const w of waiters.splice(0)) w();
    }),
  );
  let exitedYet = false;
  void exited.then(() => (exitedYet = true));

  async function waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs = 20_000) {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const hit = logs.find(match);
      if (hit) return hit;
      if (exitedYet) throw new Error(`gateway exited before the expected log line:\n${text}`);
      if (Date.now() > until) throw new Error(`no matching log line within ${timeoutMs} ms:\n${text}`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 200).unref();
      });
    }
  }

  const listening = await waitForLog((l) => l.msg === 'gemini-gateway listening');
  return { url: String(listening.url), pid: child.pid!, process: child, logs, output: () => text, waitForLog, exited };
}
