import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';
import { ADMIN_TOKEN, seedEvents, seedKey, tokens } from '../support/usage-seed.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const HAVE_BROWSER = existsSync(CHROMIUM);
const REQUIRED = process.env.REQUIRE_BROWSER === '1';

const PREFIX = '/gw';
let h: Harness;
let browser: Browser;
let page: Page;
/** Requests the page made outside PUBLIC_BASE_URL's path, with whether they carried the admin token. */
const outside: Array<{ url: string; bearer: boolean }> = [];
/** Whether the front proxy strips the path before forwarding (both are supported deployments). */
let strip = false;

/*
 * A gateway published as https://host/gw sits behind a front proxy that sends only /gw/… to it; the
 * rest of the host is other applications. The browser here plays that proxy: anything outside /gw
 * is refused (and recorded), so a page that reaches for /dashboard/app.js or /admin/v1/usage at the
 * host's root breaks, and would hand the admin token to whatever serves that path.
 */
// Without a browser the run's one "Not run" line (test/support/services-global.ts on main) says so; CI sets REQUIRE_BROWSER=1.
describe.runIf(HAVE_BROWSER || REQUIRED)(HAVE_BROWSER || REQUIRED ? 'the /dashboard under a PUBLIC_BASE_URL path' : `not run: no browser at ${CHROMIUM}`, () => {
  beforeAll(async () => {
    if (!HAVE_BROWSER) throw new Error(`REQUIRE_BROWSER=1 and no browser at ${CHROMIUM}: run \`apt-get install chromium\` or set CHROMIUM_PATH`);
    h = await startHarness({ env: { ADMIN_TOKEN }, publicPath: PREFIX });
    const key = await seedKey(h, 'acme', 'web');
    const at = new Date(Date.now() - 3_600_000).toISOString();
    await seedEvents(h, [{ at, key, model: 'gemini-2.5-flash', endpoint: 'generateContent', outcome: 'ok', usage: tokens(1000, 200), latencyMs: 300, ttfbMs: 90 }]);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'] });
    page = await (await browser.newContext()).newPage();
    page.on('pageerror', (err) => {
      throw err;
    });
    await page.route('**/*', async (route) => {
      const url = new URL(route.request().url());
      if (url.pathname === PREFIX || url.pathname.startsWith(`${PREFIX}/`)) {
        if (!strip) return route.continue();
        // Fetched here and answered as the original URL, so the browser sees only /gw/… (and its redirects as sent).
        url.pathname = url.pathname.slice(PREFIX.length) || '/';
        return route.fulfill({ response: await route.fetch({ url: url.toString(), maxRedirects: 0 }) });
      }
      outside.push({ url: url.pathname, bearer: Boolean(route.request().headers().authorization) });
      return route.fulfill({ status: 404, body: 'another application' });
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  it.each([
    [`${PREFIX}/dashboard`, false],
    [`${PREFIX}/dashboard/`, false],
    [`${PREFIX}/dashboard`, true],
  ])('loads from %s (path stripped by the proxy: %s), signs in and shows usage without leaving the path', async (path, stripped) => {
    outside.length = 0;
    strip = stripped;
    await page.goto(`${h.url}${path}`);
    await page.evaluate(() => sessionStorage.clear());
    await page.reload({ waitUntil: 'load' });
    expect(outside).toEqual([]);
    await page.waitForSelector('#signin:not([hidden])', { timeout: 5000 });
    await page.fill('#token', ADMIN_TOKEN);
    await page.click('#signin-form button[type=submit]');
    await page.waitForSelector('#dash[data-state="ready"]', { timeout: 10_000 });
    expect(await page.$$eval('#top tbody tr', (trs) => trs.map((tr) => (tr as HTMLElement).dataset.id))).toHaveLength(1);
    expect(outside).toEqual([]);
  });
});
