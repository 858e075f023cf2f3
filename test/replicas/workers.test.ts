// GATEWAY_WORKERS: several worker processes on one port (node:cluster), sharing budgets through Redis.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path, { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { latch } from '../support/quota.js';
import { clearOfMinuteBoundary, startReplicas, type Replicas } from '../support/replicas.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let r: Replicas | undefined;
afterEach(async () => {
  await r?.close();
  r = undefined;
});

describe('GATEWAY_WORKERS', { timeout: 90_000 }, () => {
  it('without REDIS_URL it is refused with a message', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ggw-workers-'));
    try {
      const out = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
          cwd: repoRoot,
          env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', DATABASE_PATH: join(dir, 'g.db'), GATEWAY_WORKERS: '2' },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.once('exit', (code) => resolve({ code, stderr }));
      });
      expect(out.code).toBe(1);
      expect(out.stderr).toContain('GATEWAY_WORKERS needs shared state');
      expect(out.stderr).toContain('Set REDIS_URL');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('with REDIS_URL unreachable: one message from the primary and exit 1, no restart loop', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ggw-workers-'));
    try {
      const out = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
          cwd: repoRoot,
          env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', DATABASE_PATH: join(dir, 'g.db'), GATEWAY_WORKERS: '2', REDIS_URL: 'redis://:pw-not-shown@127.0.0.1:1' },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.once('exit', (code) => resolve({ code, stderr }));
      });
      expect(out.code).toBe(1);
      expect(out.stderr.trim().split('\n')).toHaveLength(1);
      expect(out.stderr).toContain('is unreachable');
      expect(out.stderr).not.toContain('pw-not-shown');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.runIf(inject('redisAvailable'))('2 workers answer on one port and share one requests-per-minute budget', async () => {
    r = await startReplicas(1, { env: { GATEWAY_WORKERS: '2' } });
    const g = r.gateways[0]!;
    const first = g.logs.find((x) => x.msg === 'gemini-gateway listening')!;
    await g.waitForLog((l) => l.msg === 'gemini-gateway listening' && l.pid !== first.pid);
    const pids = new Set(g.logs.filter((l) => l.msg === 'gemini-gateway listening').map((l) => l.pid));
    expect(pids.size).toBe(2);
    const urls = new Set(g.logs.filter((l) => l.msg === 'gemini-gateway listening').map((l) => l.url));
    expect(urls.size).toBe(1);
    expect((await r.admin('PUT', `/admin/v1/projects/${r.projectId}/limits`, { limits: [{ requestsPerMinute: 10 }] })).status).toBe(200);
    await clearOfMinuteBoundary(10);
    const statuses = await Promise.all(
      Array.from({ length: 20 }, async () => {
        // A new connection each time, so the cluster spreads them over both workers.
        const res = await fetch(`${g.url}/v1beta/models/google-text:generateContent`, {
          method: 'POST',
          headers: { 'x-goog-api-key': r!.key, 'content-type': 'application/json', connection: 'close' },
          body: '{}',
        });
        await res.arrayBuffer();
        return res.status;
      }),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(10);
  });

  it.runIf(inject('redisAvailable'))('a worker that dies while draining makes the primary exit non-zero, so a supervisor knows the drain was not clean', async () => {
    const gate = latch();
    r = await startReplicas(1, { env: { GATEWAY_WORKERS: '2', SHUTDOWN_GRACE_MS: '30000' }, fake: { beforeFrame: (i) => (i === 0 ? gate.wait : undefined) } });
    const g = r.gateways[0]!;
    const first = g.logs.find((x) => x.msg === 'gemini-gateway listening')!;
    await g.waitForLog((l) => l.msg === 'gemini-gateway listening' && l.pid !== first.pid);
    const workers = [...new Set(g.logs.filter((l) => l.msg === 'gemini-gateway listening').map((l) => l.pid as number))];
    // A stream held upstream keeps its worker draining.
    const held = fetch(`${g.url}/v1beta/models/google-text:streamGenerateContent?alt=sse`, {
      method: 'POST', headers: { 'x-goog-api-key': r.key, 'content-type': 'application/json' }, body: '{}',
    })
      .then((res) => res.arrayBuffer())
      // Cut when its worker is killed: before or after the headers came, depending on timing.
      .catch(() => null);
    await new Promise<void>((resolve) => { const t = setInterval(() => { if (r!.fake.requests.length > 0) { clearInterval(t); resolve(); } }, 20); });
    g.process.kill('SIGTERM');
    await g.waitForLog((l) => l.msg === 'stopping gateway workers');
    for (const pid of workers) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* the idle worker may have finished its drain already */
      }
    }
    gate.open();
    await held;
    expect(await g.exited).toEqual({ code: 1, signal: null });
  });
});
