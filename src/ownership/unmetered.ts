import { and, inArray, isNull } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { resources } from '../db/schema/index.js';
import { VIDEO_OPERATION } from './video-meter.js';

/**
 * Long-running resources the gateway knows whose final usage is not recorded yet: batches and Veo
 * operations (kind `models`: `models/{m}/operations/{id}`). The poller's work list, from the
 * database so it outlives a restart.
 */
export async function unmeteredLongRunning(db: Db): Promise<string[]> {
  const rows = await db
    .select({ name: resources.name })
    .from(resources)
    .where(and(inArray(resources.kind, ['batches', 'models']), isNull(resources.usageRecordedAt)));
  return rows.map((r) => r.name).filter((name) => name.startsWith('batches/') || VIDEO_OPERATION.test(name));
}
