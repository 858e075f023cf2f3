// Readings from /proc: a process's RSS and CPU time, and how busy the rest of the machine is.
import { readFileSync } from 'node:fs';
import { CPUS } from './procs.js';

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

/** CPU time of a process's main thread (on Linux its tid is the pid), ms: the event loop's share. */
export function mainThreadCpuTimeMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
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
