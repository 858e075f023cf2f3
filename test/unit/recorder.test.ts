import { describe, expect, it } from 'vitest';
import { openDb } from '../../src/db/client.js';
import { createLogger } from '../../src/logger.js';
import { createRecorder } from '../../src/metering/recorder.js';
import type { UsageRow } from '../../src/metering/row.js';

const row = (i: number): UsageRow => ({
  createdAt: 1_700_000_000_000 + i, requestId: `r${i}`, tenantId: 't', projectId: 'p', keyId: 'k', upstreamKeyId: null,
  method: 'POST', apiVersion: 'v1beta', endpoint: 'generateContent', model: 'm', stream: 0, status: 200, outcome: 'ok',
  usage: { promptTokens: i, cachedTokens: 0, outputTokens: 1, thoughtsTokens: 0, toolUsePromptTokens: 0, totalTokens: i + 1, json: '{}' },
  ttfbMs: 1, latencyMs: 2, bytesIn: 3, bytesOut: 4,
});

describe('recorder', () => {
  const log = createLogger('silent');

  it('writes queued rows in one transaction and runs hooks inside it', () => {
    const db = openDb(':memory:');
    const seen: number[] = [];
    const rec = createRecorder({ db, log, flushIntervalMs: 1000, batchSize: 1000, hooks: [(rows) => seen.push(rows.length)] });
    for (let i = 0; i < 250; i++) rec.record(row(i));
    expect(rec.pending()).toBe(250);
    expect(rec.flush()).toBe(250);
    expect(seen).toEqual([250]);
    expect(db.$client.prepare('SELECT count(*) n, sum(total_tokens) t FROM usage_events').get()).toEqual({ n: 250, t: (249 * 250) / 2 + 250 });
    rec.close();
  });

  it('keeps rows queued when the database refuses the write and writes them once it can', () => {
    const db = openDb(':memory:');
    let fail = true;
    const rec = createRecorder({ db, log, flushIntervalMs: 1000, batchSize: 1000, hooks: [() => { if (fail) throw new Error('SQLITE_BUSY'); }] });
    rec.record(row(1));
    rec.record(row(2));
    expect(rec.flush()).toBe(0);
    expect(rec.pending()).toBe(2);
    expect(db.$client.prepare('SELECT count(*) n FROM usage_events').pluck().get()).toBe(0);
    fail = false;
    rec.record(row(3));
    expect(rec.close()).toBe(3);
    expect(db.$client.prepare('SELECT request_id FROM usage_events ORDER BY id').pluck().all()).toEqual(['r1', 'r2', 'r3']);
  });

  it('flushes on its own shortly after rows arrive', async () => {
    const db = openDb(':memory:');
    const rec = createRecorder({ db, log, flushIntervalMs: 5, batchSize: 1000 });
    rec.record(row(1));
    await new Promise((r) => setTimeout(r, 50));
    expect(rec.pending()).toBe(0);
    expect(db.$client.prepare('SELECT count(*) FROM usage_events').pluck().get()).toBe(1);
    rec.close();
  });
});
