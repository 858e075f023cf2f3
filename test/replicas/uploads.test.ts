// Any replica serves any request: a resumable upload started on one continues on the others, and
// another project's chunk is still refused (the session's owner lives in the shared database).
import { afterEach, describe, expect, inject, it } from 'vitest';
import { startReplicas, until, type Replicas } from '../support/replicas.js';

let r: Replicas | undefined;
afterEach(async () => {
  await r?.close();
  r = undefined;
});

// On the default database (Postgres when it answers) and on one SQLite file, which is also a supported setup.
const backends = inject('postgresAvailable') ? (['postgres', 'sqlite'] as const) : (['sqlite'] as const);

describe.runIf(inject('redisAvailable')).each(backends)('uploads across replicas (%s)', { timeout: 90_000 }, (backend) => {
  it('chunks landing on different replicas complete the upload; a foreign project\'s chunk is a 404 and never forwarded', async () => {
    r = await startReplicas(3, { backend });
    const [one, two, three] = r.gateways as [typeof r.gateways[0], typeof r.gateways[0], typeof r.gateways[0]];
    // A key of another project, created by another process (as the CLI would) while the replicas run.
    const foreign = (await r.createKey('acme', 'beta')).key;

    const started = await fetch(`${one.url}/upload/v1beta/files`, {
      method: 'POST',
      headers: {
        'x-goog-api-key': r.key,
        'x-goog-upload-protocol': 'resumable',
        'x-goog-upload-command': 'start',
        'x-goog-upload-header-content-length': '10',
        'x-goog-upload-header-content-type': 'text/plain',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ file: { displayName: 'ten' } }),
    });
    expect(started.status).toBe(200);
    const url = new URL(started.headers.get('x-goog-upload-url')!);
    const on = (g: typeof one) => `${g.url}${url.pathname}${url.search}`;
    const chunk = (g: typeof one, key: string, command: string, offset: number, body: string) =>
      fetch(on(g), { method: 'POST', headers: { 'x-goog-api-key': key, 'x-goog-upload-command': command, 'x-goog-upload-offset': String(offset) }, body });

    const first = await chunk(two, r.key, 'upload', 0, 'hello');
    expect(first.status).toBe(200);
    const forwarded = r.fake.requests.length;
    const refused = await chunk(three, foreign, 'upload, finalize', 5, 'world');
    expect(refused.status).toBe(404);
    expect(r.fake.requests.length).toBe(forwarded);
    const done = await chunk(three, r.key, 'upload, finalize', 5, 'world');
    expect(done.status).toBe(200);
    expect(done.headers.get('x-goog-upload-status')).toBe('final');
    const file = (await done.json()) as { file: { name: string } };
    // The file the upload created belongs to the project on every replica once the creating
    // replica's ledger has flushed (a loaded machine can stretch that past the re-checks' window).
    const get = () => fetch(`${one.url}/v1beta/${file.file.name}`, { headers: { 'x-goog-api-key': r!.key } }).then((x) => x.status);
    await until('the file readable on replica 1', async () => (await get()) === 200, 3000);
    const foreignGet = await fetch(`${two.url}/v1beta/${file.file.name}`, { headers: { 'x-goog-api-key': foreign } });
    expect(foreignGet.status).toBe(404);
  });
});
