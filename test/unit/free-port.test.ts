import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.js';

describe('freePort', () => {
  it('gives ports below the ephemeral range that can be bound, and skips one that is taken', async () => {
    const [ephemeral] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    for (const p of ports) expect(p).toBeLessThan(ephemeral!);
    const held = createServer();
    await new Promise<void>((r) => held.listen(ports[0], '127.0.0.1', r));
    try {
      const orig = Math.random;
      let first = true;
      // The first draw lands on the held port; freePort must move on to another.
      Math.random = () => (first ? ((first = false), (ports[0]! - 20_000 + 0.5) / (ephemeral! - 20_000)) : orig());
      try {
        expect(await freePort()).not.toBe(ports[0]);
      } finally {
        Math.random = orig;
      }
    } finally {
      await new Promise((r) => held.close(r));
    }
  });
});
