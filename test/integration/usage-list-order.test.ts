import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';
import { setLimits } from '../support/quota.js';
import { ADMIN_TOKEN, getJson, seedEvents, seedKey, tokens, type SeedKey } from '../support/usage-seed.js';

/*
 * The one-page usage lists answer the same order on SQLite and Postgres. Without a full ORDER BY,
 * each backend returns ties (and unordered rows) in its own storage or hash order: SQLite walks an
 * index, Postgres a hash aggregate or the heap, where an updated row moves to the end.
 */
const byCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

let h: Harness;
let keys: SeedKey[];
const MODELS = ['zeta', 'alpha', 'Beta', 'mid-1', 'mid_2', 'omega', 'gamma', 'delta', 'epsilon', 'kappa'];

beforeAll(async () => {
  h = await startHarness({ env: { ADMIN_TOKEN } });
  keys = [];
  for (let i = 0; i < 6; i++) keys.push(await seedKey(h, `t${i}`, `p${i}`));
  const at = new Date(Date.now() - 3_600_000).toISOString();
  const ev = (model: string, key: SeedKey) => ({ at, key, model, endpoint: 'generateContent', outcome: 'ok' as const, usage: tokens(10, 1), latencyMs: 5, ttfbMs: 2 });
  // Every model once, and "kappa" a second time: one leader, then nine ties.
  await seedEvents(h, [...MODELS.map((m, i) => ev(m, keys[i % keys.length]!)), ev('kappa', keys[0]!)]);
});
afterAll(async () => h.close());

describe('usage lists in a stable order on every backend', () => {
  it('unpriced-models: most requests first, ties by model name', async () => {
    const { body } = await getJson(h, '/admin/v1/usage/unpriced-models');
    expect(body.data.map((m: any) => m.model)).toEqual(['kappa', ...MODELS.filter((m) => m !== 'kappa').sort(byCodeUnits)]);
  });

  it('quota: projects by id, also after a project changed its limits', async () => {
    for (const k of keys) await setLimits(h, k.projectId, { limits: [{ tokensPerMonth: 1000 }] });
    // Changing the first project's limits rewrites its row (on Postgres, a new tuple at the end of the heap).
    await setLimits(h, keys[0]!.projectId, { limits: [{ tokensPerMonth: 2000 }] });
    const { body } = await getJson(h, '/admin/v1/usage/quota');
    expect(body.data.map((p: any) => p.projectId)).toEqual(keys.map((k) => k.projectId).sort(byCodeUnits));
  });
});
