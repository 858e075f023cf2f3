import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';
import { generate, setLimits } from '../support/quota.js';
import { ADMIN_TOKEN, getJson, seedEvents, seedKey, tokens, type SeedEvent, type SeedKey } from '../support/usage-seed.js';

const OUT = 'test-output';
const DAY = 86_400_000;
const today = Date.parse(`${new Date().toISOString().slice(0, 10)}T00:00:00Z`);
const MODELS = ['gemini-2.5-flash', 'gemini-2.5-pro', 'gemini-2.0-flash', 'house-model'];

let h: Harness;
let browser: Browser;
let page: Page;
let keys: SeedKey[];

/*
 * `npm test` must pass on a machine without a browser: there this file does not run, and the run's one
 * "Not run" line (test/support/services-global.ts) says so and how to run it. CI sets REQUIRE_BROWSER=1,
 * which turns a missing browser into a failure.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const HAVE_BROWSER = existsSync(CHROMIUM);
const REQUIRED = process.env.REQUIRE_BROWSER === '1';

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Waits for the load that the last action started, then returns the table as { id → { field → value } }. */
async function tableAfterLoad(): Promise<Record<string, Record<string, string>>> {
  await page.waitForSelector('#dash[data-state="ready"]');
  return page.$$eval('#top tbody tr', (trs) =>
    Object.fromEntries(trs.map((tr) => [(tr as HTMLElement).dataset.id!, Object.fromEntries([...tr.querySelectorAll('td[data-field]:not([data-field="quota"])')].map((td) => [(td as HTMLElement).dataset.field!, (td as HTMLElement).dataset.value!]))])),
  );
}

/** The same rows, from the API, in the table's shape. */
async function apiTable(query: string, id: (g: any) => string) {
  const { body } = await getJson(h, `/admin/v1/usage?${query}`);
  return Object.fromEntries(body.groups.map((g: any) => [id(g), {
    name: id(g), requests: String(g.requests), errors: String(g.errors), totalTokens: String(g.totalTokens),
    estimatedCostUsd: g.estimatedCostUsd === null ? '' : String(g.estimatedCostUsd), latency: g.latencyMsP50 === null ? '' : String(g.latencyMsP50),
  }]));
}

/** Pixels of a canvas that are not transparent, and how many are drawn in the first series colour. */
function inked(id: string) {
  return page.$eval(`#${id}`, (c) => {
    const canvas = c as HTMLCanvasElement;
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    let any = 0;
    let series = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3]! > 0) any++;
      if (Math.abs(data[i]! - 0x1a) < 8 && Math.abs(data[i + 1]! - 0x73) < 8 && Math.abs(data[i + 2]! - 0xe8) < 8) series++;
    }
    return { any, series };
  });
}

// Not run, the suite's name says how to run it, so the skipped tests in the report carry the hint too.
describe.runIf(HAVE_BROWSER || REQUIRED)(HAVE_BROWSER || REQUIRED ? 'the /dashboard in a real browser' : `not run: no browser at ${CHROMIUM}`, () => {
  beforeAll(async () => {
    if (!HAVE_BROWSER) throw new Error(`REQUIRE_BROWSER=1 and no browser at ${CHROMIUM}: run \`apt-get install chromium\` or set CHROMIUM_PATH`);
    h = await startHarness({ env: { ADMIN_TOKEN } });
    keys = [
      await seedKey(h, 'acme', 'web'), await seedKey(h, 'acme', 'web'), await seedKey(h, 'acme', 'batch'),
      await seedKey(h, 'globex', 'app'), await seedKey(h, 'globex', 'search'), await seedKey(h, 'initech', 'legacy'),
    ];
    // 30 days of traffic for four projects (two keys on acme/web); "legacy" only 45–60 days ago, so the 90-day view differs.
    const events: SeedEvent[] = [];
    for (let d = 0; d < 30; d++) {
      keys.slice(0, 5).forEach((key, k) => {
        for (let i = 0; i <= (d + k) % 4; i++) {
          const model = MODELS[(d + k + i) % MODELS.length]!;
          const failed = (d * 7 + k + i) % 11 === 0;
          events.push({
            at: new Date(today - d * DAY + (3 + k * 2 + i) * 3_600_000).toISOString(), key, model,
            endpoint: i % 2 ? 'streamGenerateContent' : 'generateContent', outcome: failed ? 'upstream_error' : 'ok', status: failed ? 503 : 200,
            usage: failed ? null : tokens(1000 * (k + 1) + d * 37, 200 + i * 50, { cachedTokens: i * 100 }), latencyMs: 200 + 40 * i + d, ttfbMs: 80 + i,
          });
        }
      });
    }
    for (let d = 45; d < 60; d++) {
      events.push({ at: new Date(today - d * DAY + 5 * 3_600_000).toISOString(), key: keys[5]!, model: 'gemini-2.5-flash', endpoint: 'generateContent', outcome: 'ok', usage: tokens(90_000, 5000), latencyMs: 900, ttfbMs: 300 });
    }
    await seedEvents(h, events);
    // acme/batch has a monthly token budget, and real traffic through the gateway to count against it.
    await setLimits(h, keys[2]!.projectId, { limits: [{ tokensPerMonth: 20_000 }] });
    for (let i = 0; i < 2; i++) expect((await generate(h, keys[2]!.key)).status).toBe(200);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    page = await (await browser.newContext({ viewport: { width: 1400, height: 1100 }, acceptDownloads: true })).newPage();
    page.on('pageerror', (err) => {
      throw err;
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  it('signs in, draws the charts and shows the same top table as the API', async () => {
    await page.goto(`${h.url}/dashboard`);
    await page.waitForSelector('#signin:not([hidden])');
    await page.fill('#token', 'wrong-token-0123456789');
    await page.click('#signin-form button[type=submit]');
    await expect.poll(() => page.textContent('#signin-error')).toMatch(/not accepted/);
    await page.fill('#token', ADMIN_TOKEN);
    await page.click('#signin-form button[type=submit]');
    const table = await tableAfterLoad();
    expect(await page.evaluate(() => sessionStorage.getItem('ggw.adminToken'))).toBe(ADMIN_TOKEN);

    for (const id of ['chart-tokens', 'chart-requests', 'chart-cost']) {
      const px = await inked(id);
      expect({ id, drawn: px.any > 1000 }).toEqual({ id, drawn: true });
    }
    expect((await inked('chart-tokens')).series).toBeGreaterThan(200);

    const range = `from=${isoDay(today - 29 * DAY)}&to=${isoDay(today + DAY)}`;
    const api = await apiTable(`${range}&groupBy=tenant,project`, (g) => g.projectId);
    expect(Object.keys(api)).toHaveLength(4);
    expect(table).toEqual(api);
    expect(await page.textContent('#unpriced')).toMatch(/house-model/);
    // The warning banner lists what the admin API (and `prices check`) reports: the seeded house-model
    // and the fake upstream's model of the real requests have no price.
    const unpriced = (await getJson(h, '/admin/v1/prices/unpriced')).body.data;
    expect(unpriced.map((m: any) => m.model).sort()).toEqual(['google-text', 'house-model']);
    expect(await page.isVisible('#unpriced-banner')).toBe(true);
    expect(await page.getAttribute('#unpriced-banner', 'data-models')).toBe(unpriced.map((m: any) => m.model).join(','));
    const house = unpriced.find((m: any) => m.model === 'house-model');
    expect(await page.textContent('#unpriced-banner')).toContain(`house-model (${house.requests} requests)`);
    // The quota bar of the one project with limits shows the API's utilisation.
    const quota = (await getJson(h, '/admin/v1/usage/quota')).body.data;
    expect(quota).toHaveLength(1);
    expect(quota[0].utilisation).toBeGreaterThan(0);
    const bars = await page.$$eval('#top td[data-field="quota"]', (tds) => tds.map((td) => [td.closest('tr')!.dataset.id, Number((td as HTMLElement).dataset.value)]));
    expect(bars).toEqual([[keys[2]!.projectId, quota[0].utilisation]]);
    await page.screenshot({ path: `${OUT}/dashboard.png`, fullPage: true });
  });

  it('switching the date range updates the table and charts', async () => {
    await page.click('.presets button[data-days="90"]');
    const table = await tableAfterLoad();
    const api = await apiTable(`from=${isoDay(today - 89 * DAY)}&to=${isoDay(today + DAY)}&groupBy=tenant,project`, (g) => g.projectId);
    expect(Object.keys(api)).toHaveLength(5);
    expect(table).toEqual(api);
    await page.fill('#from', `${isoDay(today - 6 * DAY)}T00:00`);
    await page.dispatchEvent('#from', 'change');
    await page.click('.presets button[data-days="7"]');
    const week = await tableAfterLoad();
    expect(week).toEqual(await apiTable(`from=${isoDay(today - 6 * DAY)}&to=${isoDay(today + DAY)}&groupBy=tenant,project`, (g) => g.projectId));
    expect(week).not.toEqual(table);
  });

  it('answers a range picked to the minute exactly, and the last 90 minutes', async () => {
    const from = today - 2 * DAY + 10 * 3_600_000 + 10 * 60_000;
    const to = today - DAY + 11 * 3_600_000 + 40 * 60_000;
    const minute = (ms: number) => new Date(ms).toISOString().slice(0, 16);
    await page.fill('#to', minute(to));
    await page.dispatchEvent('#to', 'change');
    await tableAfterLoad();
    await page.fill('#from', minute(from));
    await page.dispatchEvent('#from', 'change');
    const table = await tableAfterLoad();
    const bounds = `from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}`;
    expect(table).toEqual(await apiTable(`${bounds}&groupBy=tenant,project`, (g) => g.projectId));
    expect(Object.keys(table).length).toBeGreaterThan(0);
    expect(await page.textContent('#status')).toBe(`${minute(from).replace('T', ' ')} → ${minute(to).replace('T', ' ')} UTC, by hour`);
    // The hourly chart starts at the hour holding the first minute, so the API's first bucket has a place.
    const labels = await page.evaluate(() => (window as any).Chart.getChart('chart-tokens').data.labels as string[]);
    expect(labels[0]).toBe(`${minute(from).slice(5, 10)} 10h`);
    expect(labels).toHaveLength(26);

    await page.click('.presets button[data-minutes="90"]');
    const recent = await tableAfterLoad();
    const [f, t] = [await page.inputValue('#from'), await page.inputValue('#to')];
    expect(Date.parse(`${t}:00Z`) - Date.parse(`${f}:00Z`)).toBe(90 * 60_000);
    expect(recent).toEqual(await apiTable(`from=${f}:00Z&to=${t}:00Z&groupBy=tenant,project`, (g) => g.projectId));
    await page.click('.presets button[data-days="7"]');
    await tableAfterLoad();
  });

  it('drills into a project and downloads the current view as CSV', async () => {
    const web = keys[0]!;
    await page.click(`#top tbody tr[data-id="${web.projectId}"]`);
    const table = await tableAfterLoad();
    const range = `from=${isoDay(today - 6 * DAY)}&to=${isoDay(today + DAY)}`;
    expect(table).toEqual(await apiTable(`${range}&project=${web.projectId}&groupBy=key`, (g) => g.keyId));
    expect(Object.keys(table).sort()).toEqual([keys[0]!.id, keys[1]!.id].sort());
    expect(await page.textContent('#crumbs')).toContain('acme/web');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#csv')]);
    const csv = readFileSync((await download.path())!, 'utf8');
    const { body } = await getJson(h, `/admin/v1/usage?${range}&project=${web.projectId}&groupBy=day,model&format=csv`);
    expect(csv).toBe(body);
    await page.screenshot({ path: `${OUT}/dashboard-drilldown.png`, fullPage: true });
    await page.click('#crumb-all');
    expect(Object.keys(await tableAfterLoad())).toHaveLength(4);
  });

  it('keeps the session across a reload and forgets it on sign-out', async () => {
    await page.reload();
    await tableAfterLoad();
    await page.click('#signout');
    await page.waitForSelector('#signin:not([hidden])');
    expect(await page.evaluate(() => sessionStorage.getItem('ggw.adminToken'))).toBeNull();
  });
});

mkdirSync(OUT, { recursive: true });
