import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR, openDb } from '../../src/db/client.js';
import { loadAllPolicies } from '../../src/quota/policy-store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A database migrated only up to (and including) the migration tagged `lastTag`, as an older gateway left it. */
function databaseAt(lastTag: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'ggw-migrate-'));
  dirs.push(dir);
  const folder = join(dir, 'migrations');
  cpSync(MIGRATIONS_DIR, folder, { recursive: true });
  const journalPath = join(folder, 'meta', '_journal.json');
  const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: { tag: string }[] };
  const upTo = journal.entries.findIndex((e) => e.tag === lastTag);
  expect(upTo).toBeGreaterThanOrEqual(0);
  writeFileSync(journalPath, JSON.stringify({ ...journal, entries: journal.entries.slice(0, upTo + 1) }));
  const path = join(dir, 'gateway.db');
  const sqlite = new Database(path);
  migrate(drizzle(sqlite), { migrationsFolder: folder });
  sqlite.close();
  return path;
}

describe('migration 0005: stored limit rules become camelCase', () => {
  it('rewrites an old snake_case policy so the gateway loads it unchanged in meaning', async () => {
    const path = databaseAt('0004_live_tokens');
    const old = new Database(path);
    old.pragma('foreign_keys = OFF');
    const oldRules = [
      { tokens_per_day: 1_000_000, requests_per_minute: 60 },
      { key_id: 'key_abc', max_concurrent: 4 },
      { model: 'gemini-2.5-pro', tokens_per_minute: 50_000, tokens_per_month: 9_000_000 },
    ];
    const insert = old.prepare('INSERT INTO project_limits (project_id, hard_cap, rules, created_at, updated_at) VALUES (?, ?, ?, 1, 1)');
    insert.run('prj_old', 1, JSON.stringify(oldRules));
    insert.run('prj_empty', 0, '[]');
    old.close();

    const db = openDb(path);
    try {
      const rules = db.$client.prepare('SELECT project_id AS id, rules FROM project_limits ORDER BY project_id').all() as { id: string; rules: string }[];
      expect(rules.map((r) => [r.id, JSON.parse(r.rules)])).toEqual([
        ['prj_empty', []],
        ['prj_old', [
          { tokensPerDay: 1_000_000, requestsPerMinute: 60 },
          { keyId: 'key_abc', maxConcurrent: 4 },
          { model: 'gemini-2.5-pro', tokensPerMinute: 50_000, tokensPerMonth: 9_000_000 },
        ]],
      ]);
      const bad: string[] = [];
      const policies = await loadAllPolicies(db, (id, problem) => bad.push(`${id}: ${problem}`));
      expect(bad).toEqual([]);
      expect(policies.get('prj_old')).toEqual({
        hardCap: true,
        limits: [
          { tokensPerDay: 1_000_000, requestsPerMinute: 60 },
          { keyId: 'key_abc', maxConcurrent: 4 },
          { model: 'gemini-2.5-pro', tokensPerMinute: 50_000, tokensPerMonth: 9_000_000 },
        ],
      });
      expect(policies.get('prj_empty')).toEqual({ hardCap: false, limits: [] });
    } finally {
      db.$client.close();
    }
  });

  it('an old-shape rule left unmigrated would not load: the migration is what keeps the policy', async () => {
    const path = databaseAt('0005_limits_camel_case');
    const db = new Database(path);
    db.pragma('foreign_keys = OFF');
    db.prepare('INSERT INTO project_limits (project_id, hard_cap, rules, created_at, updated_at) VALUES (?, 0, ?, 1, 1)').run('prj_stale', JSON.stringify([{ tokens_per_day: 5 }]));
    const bad: string[] = [];
    await loadAllPolicies(drizzle(db) as never, (id) => bad.push(id));
    db.close();
    expect(bad).toEqual(['prj_stale']);
  });
});
