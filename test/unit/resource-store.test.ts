import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createKeyFor } from '../../src/accounts/issue-key.js';
import { systemClock } from '../../src/clock.js';
import { openDb, type Db } from '../../src/db/client.js';
import { createLogger } from '../../src/logger.js';
import type { LedgerBatch } from '../../src/ledger/batch.js';
import { createSqliteApplier } from '../../src/ledger/sqlite-apply.js';
import { assignResource } from '../../src/ownership/resource-admin.js';
import { createResourceStore } from '../../src/ownership/resource-store.js';

const log = createLogger('silent');

describe('the resource store', () => {
  let dir: string;
  let dbs: Db[] = [];
  afterEach(() => {
    for (const db of dbs) db.$client.close();
    dbs = [];
    rmSync(dir, { recursive: true, force: true });
  });
  const open = () => {
    const db = openDb(join(dir, 'g.db'));
    dbs.push(db);
    return db;
  };
  const setup = async () => {
    dir = mkdtempSync(join(tmpdir(), 'ggw-store-'));
    const db = open();
    await createKeyFor(db, systemClock, { tenant: 'acme', project: 'alpha' });
    const project = db.$client.prepare('SELECT id, tenant_id FROM projects').get() as { id: string; tenant_id: string };
    const owner = { projectId: project.id, tenantId: project.tenant_id, upstreamKeyId: 'env:1' };
    return { db, store: createResourceStore(db, systemClock, log), owner };
  };
  const count = (db: Db) => db.$client.prepare('SELECT count(*) FROM resources').pluck().get();
  const take = (store: ReturnType<typeof createResourceStore>): LedgerBatch => {
    const batch: LedgerBatch = { rows: [], keyTouches: [], resourceOps: [], now: Date.now() };
    store.ledgerSide.take(batch);
    return batch;
  };
  /** What the ledger does: the batch's ops in its transaction, `committed` once it committed. */
  const flush = (db: Db, store: ReturnType<typeof createResourceStore>, batch = take(store)) => {
    createSqliteApplier(db.$client)(batch);
    store.ledgerSide.committed?.();
  };

  it('sees a claim at once and writes it only with the recorder batch', async () => {
    const { db, store, owner } = await setup();
    store.claim('files/a', owner);
    expect(store.owner('files/a')).toMatchObject({ projectId: owner.projectId, upstreamKeyId: 'env:1', usageRecordedAt: null });
    expect(count(db)).toBe(0);
    flush(db, store);
    expect(count(db)).toBe(1);
    expect(store.owner('files/a')?.projectId).toBe(owner.projectId);
  });

  it('keeps its writes when the batch rolls back, and writes them next time', async () => {
    const { db, store, owner } = await setup();
    store.claim('files/a', owner);
    const batch = take(store);
    db.$client.pragma('query_only = ON');
    expect(() => createSqliteApplier(db.$client)(batch)).toThrow(/readonly/);
    db.$client.pragma('query_only = OFF');
    expect(count(db)).toBe(0);
    expect(store.owner('files/a')?.projectId).toBe(owner.projectId);
    flush(db, store, batch);
    expect(count(db)).toBe(1);
  });

  it('never lets a claim take over a resource another project owns', async () => {
    const { store, owner } = await setup();
    store.claim('files/a', owner);
    store.claim('files/a', { ...owner, projectId: 'prj_other' });
    expect(store.owner('files/a')?.projectId).toBe(owner.projectId);
  });

  it('sees an assignment made by another process (the CLI) on the next lookup', async () => {
    const { store, owner } = await setup();
    await store.load(['files/orphan']);
    expect(store.owner('files/orphan')).toBeNull();
    await assignResource({ db: open(), clock: systemClock, actor: 'test' }, { name: 'files/orphan', tenant: 'acme', project: 'alpha' });
    // Before a request is checked, its names are loaded: what another connection committed is read again.
    await store.load(['files/orphan']);
    expect(store.owner('files/orphan')?.projectId).toBe(owner.projectId);
  });

  it('forgets deleted resources and remembers a metered batch', async () => {
    const { db, store, owner } = await setup();
    store.claim('batches/b', owner);
    store.claim('files/gone', owner);
    flush(db, store);
    store.markUsageRecorded('batches/b');
    store.forget('files/gone');
    expect(store.owner('files/gone')).toBeNull();
    expect(store.owner('batches/b')?.usageRecordedAt).not.toBeNull();
    flush(db, store);
    expect(count(db)).toBe(1);
    const fresh = createResourceStore(db, systemClock, log);
    await fresh.load(['batches/b']);
    expect(fresh.owner('batches/b')?.usageRecordedAt).not.toBeNull();
  });
});
