import { and, eq, isNull } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { resources } from '../db/schema/index.js';

/** Batches the gateway knows whose final usage is not recorded yet: the poller's work list, from the database so it outlives a restart. */
export async function unmeteredBatches(db: Db): Promise<string[]> {
  const rows = await db
    .select({ name: resources.name })
    .from(resources)
    .where(and(eq(resources.kind, 'batches'), isNull(resources.usageRecordedAt)));
  return rows.map((r) => r.name);
}
