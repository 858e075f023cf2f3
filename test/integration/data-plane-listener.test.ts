// The node:http listener sends plain Gemini requests straight to the data plane and leaves the rest
// to the router (app.ts buildListener). Both roads must give the same answer and the same usage row.
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';
import { parseRaw, rawExchange } from '../support/raw-http.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const BODY = JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] });

function post(path: string, host: string, key: string): string {
  return `POST ${path} HTTP/1.1\r\nHost: ${host}\r\nx-goog-api-key: ${key}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(BODY)}\r\nconnection: close\r\n\r\n${BODY}`;
}

describe('data-plane listener', () => {
  it('answers a request the same whether it skips the router (plain Host) or goes through it (Host it must parse)', async () => {
    h = await startHarness({});
    const port = Number(new URL(h.url).port);
    const { key } = await h.createKey();
    const path = '/v1beta/models/google-text:generateContent';
    const direct = parseRaw(await rawExchange(port, post(path, `127.0.0.1:${port}`, key)));
    const routed = parseRaw(await rawExchange(port, post(path, `LOCALHOST:${port}`, key)));
    expect([direct.status, routed.status]).toEqual([200, 200]);
    expect(routed.body).toBe(direct.body);
    const rows = await h.waitForRows(2);
    expect(rows.map((r) => [r.status, r.outcome, r.total_tokens])).toEqual([
      [200, 'ok', rows[0]!.total_tokens],
      [200, 'ok', rows[0]!.total_tokens],
    ]);
    expect(rows[0]!.total_tokens).toBeGreaterThan(0);
    expect(h.fake.requests.map((r) => r.url)).toEqual([path, path]);
  });

  it('refuses the same way on both roads: no key → 401, unknown path → 404, Google-shaped, nothing forwarded', async () => {
    h = await startHarness({});
    const port = Number(new URL(h.url).port);
    for (const host of [`127.0.0.1:${port}`, `LOCALHOST:${port}`]) {
      const noKey = parseRaw(await rawExchange(port, post('/v1beta/models/google-text:generateContent', host, '')));
      expect(noKey.status).toBe(401);
      expect(JSON.parse(noKey.body)).toMatchObject({ error: { code: 401, status: 'UNAUTHENTICATED' } });
      const notGemini = parseRaw(await rawExchange(port, post('/v1beta', host, 'x')));
      expect(notGemini.status).toBe(404);
      expect(JSON.parse(notGemini.body)).toMatchObject({ error: { code: 404, status: 'NOT_FOUND' } });
    }
    expect(h.fake.requests).toHaveLength(0);
  });
});
