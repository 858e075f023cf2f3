import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createKeyFor } from '../../src/accounts/issue-key.js';
import { systemClock } from '../../src/clock.js';
import { resourceCommands } from '../../src/cli/resources.js';
import { parseConfig } from '../../src/config.js';
import { openDb } from '../../src/db/client.js';
import { envKeyId } from '../../src/upstream/key-pool.js';

describe('resource and upstream-key CLI commands', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ggw-cli-'));
  const db = openDb(join(dir, 'g.db'));
  const config = parseConfig({ DATABASE_PATH: join(dir, 'g.db'), GEMINI_API_KEY: 'AIzaONE', GEMINI_API_KEYS: 'AIzaTWO' });
  const ctx = { db, clock: systemClock, config };
  const run = async (name: string, args: string[]): Promise<string> => {
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s) => (out.push(String(s)), true));
    try {
      await resourceCommands.find((c) => c.name === name)!.run(ctx, args);
    } finally {
      spy.mockRestore();
    }
    return out.join('');
  };
  afterAll(() => {
    db.$client.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('assigns a resource to a project by slug and lists it', async () => {
    await createKeyFor(db, systemClock, { tenant: 'acme', project: 'alpha' });
    expect(await run('resources assign', ['files/abc', '--tenant', 'acme', '--project', 'alpha', '--upstream-key-id', envKeyId('AIzaTWO')])).toMatch(/^assigned files\/abc to project prj_/);
    const listed = JSON.parse(await run('resources list', ['--tenant', 'acme', '--json'])) as { data: Array<Record<string, unknown>>; nextCursor: string | null };
    expect(listed).toMatchObject({ data: [{ name: 'files/abc', source: 'assigned', upstreamKeyId: envKeyId('AIzaTWO') }], nextCursor: null });
    expect(JSON.parse(await run('resources list', ['--project', 'other', '--json'])).data).toEqual([]);
    // Audited like every other admin write, as the CLI user.
    const audit = db.$client.prepare("SELECT actor, target_id FROM audit_events WHERE action = 'resource.assign'").all();
    expect(audit).toEqual([{ actor: expect.stringMatching(/^cli:/), target_id: 'files/abc' }]);
    await expect(run('resources assign', ['files/abc', '--tenant', 'acme', '--project', 'nope'])).rejects.toThrow('no project acme/nope');
    await expect(run('resources assign', ['models/x', '--tenant', 'acme', '--project', 'alpha'])).rejects.toThrow(/name must look like/);
  });

  it('lists configured upstream keys by id only', async () => {
    const out = await run('upstream-keys pool', []);
    expect(out).toContain(envKeyId('AIzaONE'));
    expect(out).toContain(envKeyId('AIzaTWO'));
    expect(out).not.toContain('AIza');
  });
});
