// Child processes for the harness: CPU pinning, health waits, and cleanup that kills every child
// on exit or failure (and, through ORPHAN_GUARD, even when the harness itself is SIGKILLed).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
// The suite's port picker: bench processes are bound after the probe too, while load runs.
export { freePort } from '../support/free-port.js';

export const HAS_TASKSET = spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0;
export const CPUS = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
/** Peer on CPU 0; mock + load generators on CPU 1 (only with ≥2 CPUs and taskset; off with --no-pin). */
export const PIN = HAS_TASKSET && CPUS >= 2 && !process.argv.includes('--no-pin') && !process.env.BENCH_NO_PIN;

export function pinSelf(cpu: number): boolean {
  if (!PIN) return false;
  return spawnSync('taskset', ['-pc', String(cpu), String(process.pid)], { stdio: 'ignore' }).status === 0;
}

/** Prefix for a command so it runs on `cpu` (taskset execs, so the pid stays the program's). */
export function pinned(cpu: number | undefined, cmd: string, args: string[]): [string, string[]] {
  if (!PIN || cpu === undefined) return [cmd, args];
  return ['taskset', ['-c', String(cpu), cmd, ...args]];
}

/**
 * Node flags for every long-lived child: SIGTERM itself once the harness is gone (reparented), so
 * even a SIGKILLed harness leaves nothing running. Costs one timer per second.
 */
export const ORPHAN_GUARD = [
  '--import',
  "data:text/javascript,const p=process.ppid;setInterval(()=>{if(process.ppid!==p)process.kill(process.pid,'SIGTERM')},1000).unref()",
];

export interface Proc {
  name: string;
  pid: number;
  child: ChildProcess;
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (null if killed). */
  stop(graceMs?: number): Promise<number | null>;
  exited: Promise<number | null>;
}

const live = new Set<Proc>();

export interface StartOptions {
  name: string;
  cmd: string;
  args: string[];
  env?: Record<string, string>;
  cpu?: number;
  cwd?: string;
}

export function start(o: StartOptions): Proc {
  const [cmd, args] = pinned(o.cpu, o.cmd, o.args);
  const child = spawn(cmd, args, {
    cwd: o.cwd,
    env: { ...process.env, ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (b: Buffer): void => {
    out += b.toString('utf8');
    if (out.length > 20_000) out = out.slice(-10_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => resolve(code));
    child.on('error', (err) => {
      keep(Buffer.from(`spawn error: ${err.message}\n`));
      resolve(-1);
    });
  });
  const proc: Proc = {
    name: o.name,
    pid: child.pid ?? -1,
    child,
    output: () => out,
    exited,
    async stop(graceMs = 5000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
        const code = await exited;
        clearTimeout(t);
        live.delete(proc);
        return code;
      }
      live.delete(proc);
      return exited;
    },
  };
  live.add(proc);
  void exited.then(() => live.delete(proc));
  return proc;
}

export function killAll(): void {
  for (const p of live) {
    try {
      p.child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
  live.clear();
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    killAll();
    process.exit(130);
  });
}

export function httpGet(url: string, timeoutMs = 2000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

export async function waitHealthy(proc: Proc, url: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
      throw new Error(`${proc.name} exited (${proc.child.exitCode ?? proc.child.signalCode}) before healthy:\n${proc.output().slice(-2000)}`);
    }
    try {
      if ((await httpGet(url, 1000)).status === 200) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${proc.name} not healthy at ${url} after ${timeoutMs} ms:\n${proc.output().slice(-2000)}`);
}

/** Runs a command to completion with a hard timeout; never throws. */
export function run(
  cmd: string,
  args: string[],
  o: { env?: Record<string, string>; cpu?: number; cwd?: string; timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [c, a] = pinned(o.cpu, cmd, args);
  return new Promise((resolve) => {
    const child = spawn(c, a, { cwd: o.cwd, env: { ...process.env, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const proc: Proc = {
      name: cmd,
      pid: child.pid ?? -1,
      child,
      output: () => '',
      exited: Promise.resolve(null),
      stop: async () => null,
    };
    live.add(proc);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
    const t = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 60_000);
    child.on('error', (err) => {
      clearTimeout(t);
      live.delete(proc);
      resolve({ code: -1, stdout, stderr: stderr + err.message });
    });
    child.on('close', (code) => {
      clearTimeout(t);
      live.delete(proc);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Why a compiled entry cannot be measured (missing, or older than a source file under `srcDir`), or
 * null. A stale dist/ would measure code that is no longer the tree's and say nothing about it.
 */
export function unbuilt(main: string, srcDir: string): string | null {
  if (!existsSync(main)) return `${main} is not built (npm run build)`;
  const built = statSync(main).mtimeMs;
  const newer = readdirSync(srcDir, { recursive: true, encoding: 'utf8' }).find((f) => f.endsWith('.ts') && statSync(`${srcDir}/${f}`).mtimeMs > built);
  return newer ? `${main} is older than src/${newer} (npm run build)` : null;
}
