import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { generate } from '../support/admin-fixtures.js';
import { runMigrate } from '../../src/cli/run.js';
import { parseConfig } from '../../src/config.js';
import { cli } from '../support/cli.js';
import { startHarness, type Harness } from '../support/harness.js';

const run = promisify(execFile);

describe('gemini-gateway CLI', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  it('keeps the one-step `keys create --tenant --project --json` form of the real entry point working', async () => {
    h = await startHarness();
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', 'keys', 'create', '--tenant', 'acme', '--project', 'web', '--json'], {
      env: { ...process.env, ...h.dbEnv },
    });
    const created = JSON.parse(stdout);
    h.secrets.add(created.key);
    expect(created).toMatchObject({ id: expect.stringMatching(/^key_/), key: expect.stringMatching(/^ggw_/), prefix: created.key.slice(0, 12), tenant: 'acme', project: 'web' });
    expect((await generate(h, created.key)).status).toBe(200);
  });

  it('mirrors the admin operations with tables by default and JSON with --json', async () => {
    h = await startHarness();
    const env = { ...h.dbEnv };
    expect((await cli(env, ['tenants', 'create', 'acme', '--name', 'Acme', '--label', 'tier=gold'])).stdout).toMatch(/^created tenant ten_\S+ \(active\)\n$/);
    const list = await cli(env, ['tenants', 'list']);
    expect(list.stdout.split('\n')[0]).toMatch(/^id\s+slug\s+name\s+status\s+labels\s+created$/);
    expect(list.stdout).toMatch(/acme\s+Acme\s+active\s+\{"tier":"gold"\}/);
    expect((await cli(env, ['tenants', 'list', '--label', 'tier=silver', '--json'])).json()).toEqual({ data: [], nextCursor: null });
    expect((await cli(env, ['tenants', 'get', 'acme'])).stdout).toMatch(/^slug\s+acme$/m);

    const p = (await cli(env, ['projects', 'create', 'web', '--tenant', 'acme', '--json'])).json();
    expect(p).toMatchObject({ slug: 'web', status: 'active', upstreamKeyId: null });
    const k = (await cli(env, ['keys', 'create', '--project', p.id, '--model', 'gemini-2.5-*', '--endpoint', 'generate', '--expires-at', '7d', '--json'])).json();
    h.secrets.add(k.key);
    expect(k).toMatchObject({ tenant: 'acme', project: 'web', scopes: { models: ['gemini-2.5-*'], endpoints: ['generate'] }, expiresAt: expect.any(String) });
    const human = (await cli(env, ['keys', 'list', '--tenant', 'acme', '--project', 'web'])).stdout;
    expect(human).toContain(`${k.prefix}…`);
    expect(human).not.toContain(k.key);
    const rotated = await cli(env, ['keys', 'rotate', k.id, '--overlap-seconds', '30m']);
    expect(rotated.stdout).toMatch(/^rotated to key key_\S+.*\n\n {2}ggw_\S+\n\nThis secret is shown once; store it now\.\nThe old key key_\S+ works until \S+\.$/m);
    h.secrets.add(/ggw_\S+/.exec(rotated.stdout)![0]);
    expect((await cli(env, ['keys', 'list', '--status', 'active', '--json'])).json().data).toHaveLength(2);
    expect((await cli(env, ['keys', 'revoke', k.id])).stdout).toBe(`revoked key ${k.id} (now revoked)\n`);
  });

  it('revoking or disabling from the CLI (another connection) stops a cached key on the next request', async () => {
    h = await startHarness();
    const env = { ...h.dbEnv };
    const a = (await cli(env, ['keys', 'create', '--tenant', 'acme', '--project', 'a', '--json'])).json();
    const b = (await cli(env, ['keys', 'create', '--tenant', 'acme', '--project', 'b', '--json'])).json();
    h.secrets.add(a.key).add(b.key);
    expect((await generate(h, a.key)).status).toBe(200);
    expect((await generate(h, b.key)).status).toBe(200);
    expect((await cli(env, ['keys', 'revoke', a.id])).code).toBe(0);
    expect((await cli(env, ['projects', 'disable', b.projectId])).code).toBe(0);
    expect((await generate(h, a.key)).body.error.message).toBe('API key has been revoked.');
    expect((await generate(h, b.key)).status).toBe(401);
  });

  it('refuses to create or update a key with an expiry in the past, creating nothing', async () => {
    h = await startHarness();
    const env = { ...h.dbEnv };
    for (const argv of [['--expires-at', '2020-01-01T00:00:00Z'], ['--expires-at', '0d']]) {
      const r = await cli(env, ['keys', 'create', '--tenant', 'acme', '--project', 'web', ...argv]);
      expect({ argv, code: r.code, stdout: r.stdout }).toEqual({ argv, code: 1, stdout: '' });
      expect(r.stderr).toMatch(/^gemini-gateway: expiresAt \S+ is in the past \(now: \S+\); it must be later than now\.[^\n]*\n$/);
    }
    // The one-step form creates the tenant and project in the same transaction: refused, nothing is left behind.
    expect((await cli(env, ['tenants', 'list', '--json'])).json().data).toEqual([]);

    const k = (await cli(env, ['keys', 'create', '--tenant', 'acme', '--project', 'web', '--expires-at', '1h', '--json'])).json();
    h.secrets.add(k.key);
    const past = await cli(env, ['keys', 'update', k.id, '--expires-at', '2020-01-01T00:00:00Z']);
    expect(past.code).toBe(1);
    expect(past.stderr).toMatch(/is in the past/);
    expect((await cli(env, ['keys', 'get', k.id, '--json'])).json().expiresAt).toBe(k.expiresAt);
  });

  it('fails with a non-zero exit and one line on stderr', async () => {
    h = await startHarness();
    const env = { ...h.dbEnv };
    await cli(env, ['tenants', 'create', 'acme']);
    const cases: Array<[string[], RegExp]> = [
      [['tenants', 'create', 'acme'], /already exists/],
      [['tenants', 'create', 'Bad Slug'], /slug: must be lowercase/],
      [['tenants', 'get', 'ten_nope'], /No tenant with id ten_nope/],
      [['tenants', 'rotate', 'acme'], /tenants have no secret/],
      [['keys', 'list', '--bogus'], /Unknown option '--bogus'/],
      [['keys', 'create', '--project', 'prj_nope', '--endpoint', 'chat'], /endpoints\.0: /],
      [['keys', 'rotate', 'key_nope', '--overlap-seconds', 'soon'], /not a duration/],
      [['upstream-keys', 'create', '--project', 'prj_nope'], /--secret-file/],
      [['audit', 'list', '--limit', 'ten'], /--limit must be 1–200/],
      [['audit', 'list', '--limit', '0'], /--limit must be 1–200/],
      [['audit', 'list', '--limit', '1.5'], /--limit must be 1–200/],
    ];
    // The key itself where its file's name belongs: the error must not echo it.
    const pasted = 'AIza' + 'p'.repeat(35);
    cases.push([['upstream-keys', 'create', '--project', 'prj_nope', '--secret-file', pasted], /cannot read the --secret-file \(ENOENT\)/]);
    for (const [argv, message] of cases) {
      const r = await cli(env, argv);
      expect(r.stderr).not.toContain(pasted);
      expect(r.code, argv.join(' ')).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^gemini-gateway: [^\n]+\n$/);
      expect(r.stderr).toMatch(message);
    }
  });
});

describe('gemini-gateway CLI with a broken environment', () => {
  const capture = async (fn: () => Promise<number>) => {
    let stderr = '';
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string) => ((stderr += s), true)) as typeof process.stderr.write;
    try {
      return { code: await fn(), stderr };
    } finally {
      process.stderr.write = write;
    }
  };

  it('names every bad variable on its one line, for commands and for migrate', async () => {
    const env = { DATABASE_PATH: ':memory:', PORT: 'eighty', ADMIN_TOKEN: 'short' };
    const fromCommand = await cli(env, ['tenants', 'list']);
    const fromMigrate = await capture(() => runMigrate(() => parseConfig(env)));
    for (const r of [fromCommand, fromMigrate]) {
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^gemini-gateway: invalid configuration: [^\n]+\n$/);
      expect(r.stderr).toMatch(/PORT: /);
      expect(r.stderr).toMatch(/ADMIN_TOKEN: must be at least 16 characters/);
    }
  });
});
