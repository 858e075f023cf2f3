import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/**
 * A child process that keeps a working set of ~40 MB and replaces it steadily (every replaced object has
 * been promoted, then dies in the old generation, as the gateway's in-flight request state does),
 * then prints the largest old-generation size it saw and whether the setting was applied.
 */
function peakOldSpace(percent: number, nodeFlags: string[] = []): { applied: boolean; peakMb: number } {
  const script = `
    import v8 from 'node:v8';
    import { applyHeapGrowingPercent } from './src/heap-settings.ts';
    const applied = applyHeapGrowingPercent(${percent});
    const ring = new Array(150_000);
    let peak = 0;
    for (let i = 0; i < 2_000_000; i++) {
      ring[i % ring.length] = { i, s: 'x'.repeat(8) + i, a: [i, i + 1, i + 2] };
      if (i % 5000 === 0) peak = Math.max(peak, v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_used_size);
    }
    console.log(JSON.stringify({ applied, peakMb: peak / 2 ** 20 }));
  `;
  const out = spawnSync(process.execPath, [...nodeFlags, '--import', 'tsx', '--input-type=module', '-e', script], { cwd: process.cwd(), encoding: 'utf8', timeout: 60_000 });
  if (out.status !== 0) throw new Error(out.stderr);
  return JSON.parse(out.stdout.trim().split('\n').at(-1)!) as { applied: boolean; peakMb: number };
}

describe('heap growing percent', () => {
  it('keeps the old generation near its live size, where V8 alone lets it grow to several times that', () => {
    const v8Own = peakOldSpace(0);
    const tight = peakOldSpace(50);
    expect(v8Own.applied).toBe(false);
    expect(tight.applied).toBe(true);
    // ~67 against ~155 MB here; V8's own factor shrinks when collection is slow, so the margin is wide.
    expect(tight.peakMb).toBeLessThan(v8Own.peakMb * 0.75);
  });

  it('leaves a --heap-growing-percent given to node alone', () => {
    const theirs = peakOldSpace(50, ['--heap-growing-percent=300']);
    expect(theirs.applied).toBe(false);
  });
});
