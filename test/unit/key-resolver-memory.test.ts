import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { createKeyResolver } from '../../src/auth/key-resolver.js';
import { systemClock } from '../../src/clock.js';
import { openDb, type Db } from '../../src/db/client.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

let dir: string;
let db: Db;
afterEach(() => {
  db?.$client.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('key resolver memory', () => {
  it('does not keep the strings clients present when they cannot be a key (up to a 16 KiB header each)', async () => {
    dir = mkdtempSync(join(tmpdir(), 'ggw-resolver-'));
    db = openDb(join(dir, 'gateway.db'));
    const resolver = createKeyResolver(db, systemClock, 60_000);
    gc();
    const before = process.memoryUsage().heapUsed;
    // 2,000 × 16 KB = 32 MB if each presented string were kept. Decoded from bytes, as the HTTP
    // parser makes a header value: a flat string (a rope from repeat() would cost almost nothing to keep).
    for (let i = 0; i < 2000; i++) expect((await resolver.resolve(Buffer.from(`${'x'.repeat(16_000)}${i}`).toString())).ok).toBe(false);
    gc();
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(8 * 1024 * 1024);
    // Still in use after the measurement: a collected resolver would take its caches with it.
    expect((await resolver.resolve('ggw_unknown')).ok).toBe(false);
  });
});
