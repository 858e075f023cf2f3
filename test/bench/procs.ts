// Child processes for the harness: CPU pinning, health waits, RSS from /proc, and cleanup that
// kills every child on exit or failure.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';

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
  /** Gives Node children an IPC channel so they can exit when the harness dies. */
  ipc?: boolean;
}

export function start(o: StartOptions): Proc {
  const [cmd, args] = pinned(o.cpu, o.cmd, o.args);
  const child = spawn(cmd, args, {
    cwd: o.cwd,
    env: { ...process.env, ...o.env },
    stdio: o.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
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

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
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

/** VmRSS of a live process, in bytes; null when unreadable. */
export function rssBytes(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Samples a pid's RSS every `intervalMs` until stopped; reports the peak. */
export function sampleRss(pid: number, intervalMs = 25): { stop(): { peak: number | null; samples: number } } {
  let peak: number | null = null;
  let samples = 0;
  const take = (): void => {
    const v = rssBytes(pid);
    if (v !== null) {
      samples++;
      if (peak === null || v > peak) peak = v;
    }
  };
  take();
  const t = setInterval(take, intervalMs);
  return {
    stop() {
      clearInterval(t);
      take();
      return { peak, samples };
    },
  };
}

/** User+system CPU time a live process has used, in ms (from /proc/<pid>/stat); null when unreadable. */
export function cpuTimeMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is state (field 3); utime and stime are fields 14 and 15, in clock ticks (100/s on Linux)
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}

function machineCpu(): { busyMs: number; stealMs: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
  return { busyMs: (user + nice + system + irq + softirq) * 10, stealMs: steal * 10 };
}

/** This process plus every child it has already reaped (wrk runs, stopped peers), in ms. */
function selfAndReapedMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 10;
}

/**
 * CPU used on the machine by anything that is not this harness or its children (other jobs on a
 * shared box), as a % of all CPUs over the interval; plus hypervisor steal. Timing figures taken
 * while either is high are noise.
 */
export function cpuMeter(livePids: () => number[]): { stop(): { foreignPct: number | null; stealPct: number | null } } {
  try {
    const t0 = performance.now();
    const m0 = machineCpu();
    const s0 = selfAndReapedMs();
    const pids = livePids();
    const l0 = new Map(pids.map((p) => [p, cpuTimeMs(p) ?? 0]));
    return {
      stop() {
        const wall = performance.now() - t0;
        const m1 = machineCpu();
        let ours = selfAndReapedMs() - s0;
        for (const [p, v] of l0) ours += (cpuTimeMs(p) ?? v) - v;
        const cap = wall * CPUS;
        return {
          foreignPct: cap > 0 ? Math.max(0, ((m1.busyMs - m0.busyMs - ours) / cap) * 100) : null,
          stealPct: cap > 0 ? ((m1.stealMs - m0.stealMs) / cap) * 100 : null,
        };
      },
    };
  } catch {
    return { stop: () => ({ foreignPct: null, stealPct: null }) };
  }
}
