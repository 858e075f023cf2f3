// A stored interaction's usage is billed once: by the request that first sees it complete (its
// create, or a later GET of a background interaction). Every GET echoes the same usage back.
import { afterEach, describe, expect, it } from 'vitest';
import type { RouteContext } from '../support/fake-upstream-http.js';
import { startHarness, type Harness } from '../support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const tokens = (rows: Array<{ endpoint: string; total_tokens: number | null }>) => rows.map((r) => [r.endpoint, r.total_tokens]);

describe('interaction usage', () => {
  it('a stored interaction read back twice is billed once, by its create', async () => {
    h = await startHarness();
    const ai = h.sdk((await h.createKey()).key);
    const created = await ai.interactions.create({ model: 'basic', input: 'x' });
    await ai.interactions.get(created.id!);
    await ai.interactions.get(created.id!);
    const rows = await h.waitForRows(3);
    const billed = rows[0]!.total_tokens;
    expect(billed).toBeGreaterThan(0);
    expect(tokens(rows)).toEqual([
      ['interactions.create', billed],
      ['interactions.get', null],
      ['interactions.get', null],
    ]);
  });

  it('a background interaction is billed by the first GET that sees it completed (a read while it runs does not settle it), and never again', async () => {
    const usage = { total_input_tokens: 40, total_output_tokens: 900, total_tokens: 940 };
    const running = { total_input_tokens: 40, total_output_tokens: 100, total_tokens: 140 };
    let done = false;
    const send = (res: RouteContext['res'], body: object) => {
      res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
      res.end(JSON.stringify(body));
      return true;
    };
    h = await startHarness({
      fake: {
        intercept: ({ method, url, res }) => {
          if (method === 'POST' && url.pathname.endsWith('/interactions')) return send(res, { id: 'v1_bg', status: 'in_progress', model: 'gemini-2.5-flash' });
          if (method === 'GET' && url.pathname.endsWith('/interactions/v1_bg')) {
            // While it runs, a read may report the usage so far: billed, but the final usage still is.
            return send(res, done ? { id: 'v1_bg', status: 'completed', model: 'gemini-2.5-flash', usage } : { id: 'v1_bg', status: 'in_progress', model: 'gemini-2.5-flash', usage: running });
          }
          return false;
        },
      },
    });
    const ai = h.sdk((await h.createKey()).key);
    await ai.interactions.create({ model: 'gemini-2.5-flash', input: 'research this', background: true });
    await ai.interactions.get('v1_bg');
    done = true;
    await ai.interactions.get('v1_bg');
    await ai.interactions.get('v1_bg');
    expect(tokens(await h.waitForRows(4))).toEqual([
      ['interactions.create', null],
      ['interactions.get', 140],
      ['interactions.get', 940],
      ['interactions.get', null],
    ]);
  });

  it('two reads racing on a background interaction\'s first completed answer bill it once', async () => {
    const usage = { total_input_tokens: 40, total_output_tokens: 900, total_tokens: 940 };
    let waiting: Array<() => void> = [];
    h = await startHarness({
      fake: {
        intercept: ({ method, url, res }) => {
          const send = (body: object) => {
            res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
            res.end(JSON.stringify(body));
          };
          if (method === 'POST' && url.pathname.endsWith('/interactions')) {
            send({ id: 'v1_race', status: 'in_progress', model: 'gemini-2.5-flash' });
            return true;
          }
          if (method === 'GET' && url.pathname.endsWith('/interactions/v1_race')) {
            // Held until both reads are upstream, so both left the gateway before either was billed.
            waiting.push(() => send({ id: 'v1_race', status: 'completed', model: 'gemini-2.5-flash', usage }));
            if (waiting.length === 2) {
              for (const answer of waiting) answer();
              waiting = [];
            }
            return true;
          }
          return false;
        },
      },
    });
    const ai = h.sdk((await h.createKey()).key);
    await ai.interactions.create({ model: 'gemini-2.5-flash', input: 'research this', background: true });
    await Promise.all([ai.interactions.get('v1_race'), ai.interactions.get('v1_race')]);
    const rows = await h.waitForRows(3);
    expect(rows.filter((r) => r.endpoint === 'interactions.get').map((r) => r.total_tokens).sort()).toEqual([940, null]);
  });
});
