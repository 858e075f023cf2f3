import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../../src/db/client.js';
import { createPolicyLoader } from '../../src/quota/policy-store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function database(): Db {
  const dir = mkdtempSync(join(tmpdir(), 'ggw-policy-loader-'));
  dirs.push(dir);
  const db = openDb(join(dir, 'gateway.db'));
  db.$client.pragma('foreign_keys = OFF');
  return db;
}

describe('policy loader (quota reloads on every data_version move)', () => {
  it('keeps unchanged policies, re-reads changed ones, drops deleted ones, and reports a corrupt row once', async () => {
    const db = database();
    const put = db.$client.prepare(
      'INSERT INTO project_limits (project_id, hard_cap, rules, created_at, updated_at) VALUES (?, ?, ?, 1, 1) ON CONFLICT(project_id) DO UPDATE SET hard_cap = excluded.hard_cap, rules = excluded.rules',
    );
    put.run('prj_a', 0, JSON.stringify([{ requestsPerMinute: 60 }]));
    put.run('prj_b', 1, JSON.stringify([{ tokensPerDay: 1000 }]));
    put.run('prj_bad', 0, '{not json');
    const bad: string[] = [];
    const load = createPolicyLoader(db, (id) => bad.push(id));

    const first = await load();
    expect([...first.keys()].sort()).toEqual(['prj_a', 'prj_b']);
    expect(first.get('prj_a')).toEqual({ hardCap: false, limits: [{ requestsPerMinute: 60 }] });
    expect(bad).toEqual(['prj_bad']);

    const same = await load();
    expect(same.get('prj_a')).toBe(first.get('prj_a'));
    expect(same.get('prj_b')).toBe(first.get('prj_b'));
    expect(bad).toEqual(['prj_bad']);

    put.run('prj_a', 0, JSON.stringify([{ requestsPerMinute: 5 }]));
    put.run('prj_b', 0, JSON.stringify([{ tokensPerDay: 1000 }]));
    put.run('prj_bad', 0, JSON.stringify([{ maxConcurrent: 2 }]));
    const changed = await load();
    expect(changed.get('prj_a')).toEqual({ hardCap: false, limits: [{ requestsPerMinute: 5 }] });
    expect(changed.get('prj_b')?.hardCap).toBe(false);
    expect(changed.get('prj_bad')).toEqual({ hardCap: false, limits: [{ maxConcurrent: 2 }] });

    db.$client.prepare('DELETE FROM project_limits WHERE project_id = ?').run('prj_a');
    put.run('prj_bad', 0, '[{"nonsense": true}]');
    const after = await load();
    expect([...after.keys()]).toEqual(['prj_b']);
    expect(bad).toEqual(['prj_bad', 'prj_bad']);
    db.$client.close();
  });
});
