import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { cli } from '../support/cli.js';
import { startHarness, type Harness } from '../support/harness.js';
import { ADMIN_TOKEN, getJson, seedEvents, seedKey, tokens, type SeedEvent, type SeedKey } from '../support/usage-seed.js';

const run = promisify(execFile);
const DAY = 86_400_000;
const today = Date.parse(`${new Date().toISOString().slice(0, 10)}T00:00:00Z`);
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Traffic of the last 40 days: two unpriced models in the window, one only before it, and priced or token-less ones. */
function traffic(key: SeedKey): SeedEvent[] {
  const at = (daysAgo: number) => new Date(today - daysAgo * DAY + 3_600_000).toISOString();
  const ev = (daysAgo: number, model: string, usage: SeedEvent['usage'], endpoint = 'generateContent'): SeedEvent => ({ at: at(daysAgo), key, model, endpoint, outcome: 'ok', usage, latencyMs: 10, ttfbMs: 5 });
  return [
    ev(3, 'house-model', tokens(100, 20)),
    ev(1, 'house-model', tokens(50, 10)),
    ev(5, 'house-model', tokens(10, 1)),
    ev(2, 'house-imagen', tokens(0, 0, { images: 2 }), 'predict'),
    ev(35, 'retired-model', tokens(1000, 10)), // outside the 30-day window
    ev(0, 'metadata-only-model', null, 'countTokens'), // named, never billed
    ev(0, 'gemini-2.5-flash', tokens(100, 10)),
    ev(0, 'gemini-2.5-flash-001', tokens(100, 10)), // a versioned name of a priced model
  ];
}

describe('unpriced models: `prices check` and /admin/v1/prices/unpriced', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  it('lists models used in the last 30 days that have no price, exits 1 while any exist, and 0 once they are priced', async () => {
    h = await startHarness({ env: { ADMIN_TOKEN } });
    await seedEvents(h, traffic(seedKey(h, 'acme', 'web')));

    const api = await getJson(h, '/admin/v1/prices/unpriced');
    expect(api.status).toBe(200);
    expect(api.body).toEqual({
      data: [
        { model: 'house-model', requests: 3, totalTokens: 191, lastSeenAt: `${isoDay(today - DAY)}T00:00:00.000Z` },
        { model: 'house-imagen', requests: 1, totalTokens: 0, lastSeenAt: `${isoDay(today - 2 * DAY)}T00:00:00.000Z` },
      ],
      nextCursor: null,
    });
    expect((await getJson(h, '/admin/v1/prices/unpriced?days=60')).body.data.map((m: any) => m.model)).toEqual(['house-model', 'house-imagen', 'retired-model']);
    const bad = await getJson(h, '/admin/v1/prices/unpriced?days=0');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: expect.any(String), message: expect.stringMatching(/days/) });
    expect((await getJson(h, '/admin/v1/prices/unpriced', null)).status).toBe(401);

    const env = { DATABASE_PATH: h.dbPath };
    const text = cli(env, ['prices', 'check']);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^2 model\(s\) used in the last 30 days have no price/);
    expect(text.stdout).toMatch(/^house-model\s+3\s+191\s+\d{4}-\d\d-\d\d$/m);
    const json = cli(env, ['prices', 'check', '--json']);
    expect(json.code).toBe(1);
    expect(json.json()).toEqual(api.body);
    expect(cli(env, ['prices', 'check', '--days', 'x']).code).toBe(1);

    // The real entry point exits 1 too, so cron and CI see it.
    const failed = await run(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', 'prices', 'check'], { env: { ...process.env, ...env } }).catch((e) => e);
    expect(failed.code).toBe(1);

    const pricesFile = join(h.dbPath, '..', 'prices.json');
    writeFileSync(pricesFile, JSON.stringify({ effective_from: '2020-01-01', models: { 'house-model': { input: 1, output: 2 }, 'house-imagen': { input: 0, output: 0, per_image: 0.01 } } }));
    const priced = cli({ ...env, PRICES_FILE: pricesFile }, ['prices', 'check']);
    expect(priced).toMatchObject({ code: 0, stdout: 'every model used in the last 30 days has a price\n' });
    expect(cli({ ...env, PRICES_FILE: pricesFile }, ['prices', 'check', '--json']).json()).toEqual({ data: [], nextCursor: null });
  });

  it('answers an empty list when the price table covers every model in use', async () => {
    h = await startHarness({ env: { ADMIN_TOKEN } });
    const key = seedKey(h, 'acme', 'web');
    await seedEvents(h, traffic(key).filter((e) => !e.model?.startsWith('house-')));
    expect((await getJson(h, '/admin/v1/prices/unpriced')).body).toEqual({ data: [], nextCursor: null });
  });
});
