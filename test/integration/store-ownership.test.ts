import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';
import { seedKey, type SeedKey } from '../support/usage-seed.js';

/* fileSearchStores (with their documents and operations) and tunedModels belong to the project that created them. */
let h: Harness;
let a: SeedKey;
let b: SeedKey;

beforeAll(async () => {
  h = await startHarness();
  a = await seedKey(h, 'acme', 'rag');
  b = await seedKey(h, 'globex', 'app');
});
afterAll(async () => h.close());

const call = async (key: SeedKey, method: string, path: string, body?: unknown) => {
  const res = await fetch(`${h.url}/v1beta/${path}`, {
    method,
    headers: { 'x-goog-api-key': key.key, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
};

describe('file search stores', () => {
  it('another project gets 404 for the store, its documents and operations, and in body references; lists are filtered', async () => {
    const created = await call(a, 'POST', 'fileSearchStores', { displayName: 'handbook' });
    expect(created.status).toBe(200);
    const name: string = created.body.name;
    expect(name).toMatch(/^fileSearchStores\//);
    await h.waitForRows(1);

    expect((await call(a, 'GET', name)).status).toBe(200);
    expect((await call(a, 'GET', `${name}/documents`)).status).toBe(200);
    for (const path of [name, `${name}/documents`, `${name}/documents/doc1`, `${name}/operations/op1`]) {
      const r = await call(b, 'GET', path);
      expect(r.status, path).toBe(404);
      expect(r.body).toMatchObject({ error: { code: 404, status: 'NOT_FOUND' } });
    }
    expect((await call(b, 'DELETE', name)).status).toBe(404);
    const useIt = { contents: [{ parts: [{ text: 'q' }] }], tools: [{ fileSearch: { fileSearchStoreNames: [name] } }] };
    expect((await call(b, 'POST', 'models/gemini-2.5-flash:generateContent', useIt)).status).toBe(404);
    expect((await call(a, 'POST', 'models/gemini-2.5-flash:generateContent', useIt)).status).toBe(200);

    const mine = await call(a, 'GET', 'fileSearchStores');
    const theirs = await call(b, 'GET', 'fileSearchStores');
    expect(mine.body.fileSearchStores.map((s: any) => s.name)).toEqual([name]);
    expect(theirs.body.fileSearchStores ?? []).toEqual([]);
  });
});

describe('tuned models', () => {
  it('another project cannot get, call or name a tuned model, and its list is filtered', async () => {
    const op = await call(a, 'POST', 'tunedModels', { displayName: 'tone', baseModel: 'models/gemini-2.5-flash' });
    expect(op.status).toBe(200);
    const model: string = op.body.metadata.tunedModel;
    const rows = (await h.rows()).length;
    await h.waitForRows(rows);

    expect((await call(a, 'GET', model)).status).toBe(200);
    expect((await call(a, 'POST', `${model}:generateContent`, { contents: [{ parts: [{ text: 'hi' }] }] })).status).toBe(200);
    expect((await call(b, 'GET', model)).status).toBe(404);
    expect((await call(b, 'POST', `${model}:generateContent`, { contents: [{ parts: [{ text: 'hi' }] }] })).status).toBe(404);
    expect((await call(b, 'POST', 'interactions', { model, input: 'hi' })).status).toBe(404);
    expect((await call(b, 'DELETE', model)).status).toBe(404);

    expect((await call(a, 'GET', 'tunedModels')).body.tunedModels.map((m: any) => m.name)).toEqual([model]);
    expect((await call(b, 'GET', 'tunedModels')).body.tunedModels ?? []).toEqual([]);
  });
});
