import { afterEach, describe, expect, it } from 'vitest';
import type { ResourceOp } from '../../src/ledger/batch.js';
import { createLedger } from '../../src/ledger/ledger.js';
import { UPLOAD_SESSION_MAX_AGE_MS } from '../../src/ledger/upload-sessions.js';
import { createLogger } from '../../src/logger.js';
import type { UsageRow } from '../../src/metering/row.js';
import { LEDGER_BACKENDS, type OpenedBackend } from '../support/ledger-backends.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 5, 1);

const row = (i: number, at: number): UsageRow => ({
  createdAt: at, requestId: `r${i}`, tenantId: 'ten_a', projectId: 'prj_a1', keyId: 'key_a1x', upstreamKeyId: null,
  method: 'POST', apiVersion: 'v1beta', endpoint: 'generateContent', model: 'm', stream: 0, status: 200, outcome: 'ok',
  usage: null, ttfbMs: 1, latencyMs: 2, bytesIn: 3, bytesOut: 4,
});
const claim = (name: string, at: number): ResourceOp => ({ kind: 'claim', name, resourceKind: name.split('/')[0]!, tenantId: 'ten_a', projectId: 'prj_a1', upstreamKeyId: null, units: null, at });

describe.each(LEDGER_BACKENDS)('abandoned resumable upload sessions: $name', (backend) => {
  let opened: OpenedBackend | undefined;
  afterEach(async () => {
    await opened?.close();
    opened = undefined;
  });

  it.runIf(backend.available)('are cleared once a week old; newer sessions and every other resource stay', async () => {
    opened = await backend.open();
    let now = T0 - 8 * DAY + HOUR;
    let ops: ResourceOp[] = [claim('uploads/abandoned', T0 - 8 * DAY), claim('files/old', T0 - 30 * DAY), claim('uploads/recent', T0 - DAY)];
    const ledger = createLedger({
      sink: opened.sink, log: createLogger('silent'), flushIntervalMs: 60_000, batchSize: 1000, now: () => now,
      sides: [{ take: (b) => void b.resourceOps.push(...ops.splice(0)) }],
    });
    const names = async () => (await opened!.query<{ name: string }>('SELECT name FROM resources ORDER BY name')).map((r) => r.name);

    ledger.record(row(1, now));
    await ledger.flush();
    expect(await names()).toEqual(['files/old', 'uploads/abandoned', 'uploads/recent']);

    // A week and a bit after the abandoned session started (and over an hour since the last clearing).
    now = T0;
    expect(now - (T0 - 8 * DAY)).toBeGreaterThan(UPLOAD_SESSION_MAX_AGE_MS);
    ledger.record(row(2, now));
    await ledger.flush();
    expect(await names()).toEqual(['files/old', 'uploads/recent']);
    await ledger.close();
  });
});
