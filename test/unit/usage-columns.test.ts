import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { openDb } from '../../src/db/client.js';
import { USAGE_COUNT_COLUMNS } from '../../src/db/schema/usage-counts.js';
import { decodeUsageRow, encodeUsageRow, INSERT_USAGE_EVENT_SQL, TOKEN_COLUMNS, USAGE_EVENT_COLUMNS } from '../../src/metering/columns.js';
import { COUNT_FIELDS } from '../../src/metering/counts.js';
import type { Outcome, UsageRow } from '../../src/metering/row.js';

const db = openDb(':memory:');
afterAll(() => db.$client.close());

const count = fc.integer({ min: 0, max: 2_000_000 });
const usage = fc.option(
  fc.record(
    {
      promptTokens: count, cachedTokens: count, outputTokens: count, thoughtsTokens: count, toolUsePromptTokens: count, totalTokens: count, cacheStorageTokens: count, json: fc.json(),
      // Per-modality and media counts: present only when non-zero, as the meter produces them.
      ...Object.fromEntries(COUNT_FIELDS.map((f) => [f, fc.integer({ min: 1, max: 2_000_000 })])),
    },
    { requiredKeys: ['promptTokens', 'cachedTokens', 'outputTokens', 'thoughtsTokens', 'toolUsePromptTokens', 'totalTokens', 'json'] },
  ),
  { nil: null },
);
const outcomes: Outcome[] = ['ok', 'upstream_error', 'client_aborted', 'upstream_aborted', 'upstream_timeout', 'gateway_error', 'quota_cut', 'token_expired'];
const row: fc.Arbitrary<UsageRow> = fc.record({
  createdAt: fc.integer({ min: 0, max: 4_102_444_800_000 }),
  requestId: fc.uuid(),
  tenantId: fc.string({ minLength: 1 }),
  projectId: fc.string({ minLength: 1 }),
  keyId: fc.string({ minLength: 1 }),
  upstreamKeyId: fc.option(fc.string(), { nil: null }),
  method: fc.constantFrom('GET', 'POST', 'DELETE'),
  apiVersion: fc.option(fc.constantFrom('v1', 'v1beta'), { nil: null }),
  endpoint: fc.constantFrom('generateContent', 'streamGenerateContent', 'files'),
  model: fc.option(fc.string(), { nil: null }),
  stream: fc.constantFrom(0 as const, 1 as const),
  status: fc.integer({ min: 100, max: 599 }),
  outcome: fc.constantFrom(...outcomes),
  usage,
  ttfbMs: fc.option(fc.nat(), { nil: null }),
  latencyMs: fc.nat(),
  bytesIn: fc.nat(),
  bytesOut: fc.nat(),
  costNanoUsd: fc.option(fc.nat(), { nil: null }),
  rowKey: fc.uuid(),
});

describe('the usage row codec', () => {
  it('names every usage_events column except id, once', () => {
    const table = (db.$client.prepare('PRAGMA table_info(usage_events)').all() as { name: string }[]).map((c) => c.name);
    expect(USAGE_EVENT_COLUMNS.map((c) => c.column).sort()).toEqual(table.filter((c) => c !== 'id').sort());
    expect(TOKEN_COLUMNS).toContain('total_tokens');
    expect(TOKEN_COLUMNS).toEqual(expect.arrayContaining([...USAGE_COUNT_COLUMNS]));
  });

  it('reads back exactly the row it wrote, through a real SQLite table', () => {
    const insert = db.$client.prepare(INSERT_USAGE_EVENT_SQL);
    const read = db.$client.prepare('SELECT * FROM usage_events WHERE id = ?');
    fc.assert(
      fc.property(row, (r) => {
        // row_key is unique, and shrinking replays earlier values: each check starts from an empty table.
        db.$client.exec('DELETE FROM usage_events');
        const { lastInsertRowid } = insert.run(encodeUsageRow(r));
        expect(decodeUsageRow(read.get(lastInsertRowid) as Record<string, unknown>)).toEqual(r);
      }),
      { numRuns: 300 },
    );
  });
});
