import { afterEach, describe, expect, it } from 'vitest';
import { createLedger } from '../../src/ledger/ledger.js';
import { createLogger } from '../../src/logger.js';
import type { UsageRow } from '../../src/metering/row.js';
import { LEDGER_BACKENDS, type LedgerBackend, type OpenedBackend } from '../support/ledger-backends.js';

const row = (i: number): UsageRow => ({
  createdAt: 1_700_000_000_000 + i, requestId: `r${i}`, tenantId: 't', projectId: 'p', keyId: 'k', upstreamKeyId: null,
  method: 'POST', apiVersion: 'v1beta', endpoint: 'generateContent', model: 'm', stream: 0, status: 200, outcome: 'ok',
  usage: { promptTokens: i, cachedTokens: 0, outputTokens: 1, thoughtsTokens: 0, toolUsePromptTokens: 0, totalTokens: i + 1, json: '{}' },
  ttfbMs: 1, latencyMs: 2, bytesIn: 3, bytesOut: 4, rowKey: `key-${i}`,
});

// A row the code should never produce, standing for any the database will not take: were it kept and
// retried with its batch, no later row would ever be stored.
const nullRequestId = (r: UsageRow): UsageRow => ({ ...r, requestId: null as unknown as string });

/** Rows each database refuses as data: a NOT NULL violation on both, and an int4 out of range (SQLSTATE 22003) on Postgres. */
const POISON: Record<LedgerBackend['name'], Array<(r: UsageRow) => UsageRow>> = {
  'SQLite (worker sink)': [nullRequestId],
  Postgres: [nullRequestId, (r) => ({ ...r, status: 2 ** 31 })],
};

describe.each(LEDGER_BACKENDS)('a row the database refuses as data: $name', (backend) => {
  const poison = POISON[backend.name];
  const keys = async () => (await opened!.query<{ row_key: string }>('SELECT row_key FROM usage_events ORDER BY id')).map((r) => r.row_key);
  const rolledUp = async () => Number((await opened!.query<{ n: unknown }>('SELECT coalesce(sum(requests), 0) AS n FROM usage_rollups_hourly'))[0]!.n);
  let opened: OpenedBackend | undefined;
  afterEach(async () => {
    await opened?.close();
    opened = undefined;
  });

  it.runIf(backend.available)('is set aside and logged whole; every other row of its batch, and every later one, is stored once', async () => {
    opened = await backend.open();
    const lines: string[] = [];
    const setAside: number[] = [];
    // Side records ride with every batch, as in the gateway: a key's last use, and once a resource
    // claimed for a project that does not exist (a foreign key the database refuses on its own).
    let sideBatches = 0;
    const ledger = createLedger({
      sink: opened.sink, log: createLogger('debug', { write: (s: string) => void lines.push(s) }), flushIntervalMs: 60_000, batchSize: 1000,
      onSetAside: (n) => setAside.push(n),
      sides: [{
        take: (b) => {
          b.keyTouches.push(['key_none', 1_700_000_000_000]);
          if (sideBatches++ === 0) b.resourceOps.push({ kind: 'claim', name: 'files/orphan', resourceKind: 'files', tenantId: 't', projectId: 'prj_none', upstreamKeyId: null, units: null, at: 1 });
        },
      }],
    });
    const bad = new Map(poison.map((make, n) => [3 + 4 * n, make]));
    const rows = Array.from({ length: 12 }, (_, i) => (bad.get(i) ?? ((r: UsageRow) => r))(row(i)));
    for (const r of rows) ledger.record(r);
    const good = rows.filter((_, i) => !bad.has(i)).map((r) => r.rowKey!);

    expect(await ledger.flush()).toBe(good.length);
    expect(ledger.pending()).toBe(0);
    expect((await keys()).sort()).toEqual([...good].sort());
    expect(await rolledUp()).toBe(good.length);
    expect(setAside).toEqual(poison.map(() => 1));
    // The refused side records are in the log too, and did not hold up a single row.
    expect(lines.some((l) => (JSON.parse(l) as { msg: string }).msg === 'side records refused by the database; recorded here instead' && l.includes('files/orphan'))).toBe(true);
    // Each refused row is in the log, complete, under the database's reason.
    for (const i of bad.keys()) {
      const line = lines.map((l) => JSON.parse(l) as { level: string; msg: string; unwrittenUsageRows?: UsageRow[] }).find((l) => l.unwrittenUsageRows?.some((r) => r.rowKey === `key-${i}`));
      expect(line?.level).toBe('error');
      expect(line?.msg).toMatch(/^usage row refused by the database \(.+\); set aside/);
      expect(line?.unwrittenUsageRows).toEqual([JSON.parse(JSON.stringify(rows[i]))]);
    }

    // Not stuck: a later batch (its side records fine this time) is narrowed down the same way, and a
    // replay of the whole first batch adds nothing.
    ledger.record(row(100));
    ledger.record(poison[0]!(row(101)));
    expect(await ledger.flush()).toBe(1);
    expect(setAside).toHaveLength(poison.length + 1);
    for (const r of rows.filter((_, i) => !bad.has(i))) ledger.record({ ...r });
    await ledger.flush();
    expect((await keys()).length).toBe(good.length + 1);
    expect(await rolledUp()).toBe(good.length + 1);
    await ledger.close();
  });
});
