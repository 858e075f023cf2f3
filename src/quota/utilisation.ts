import type { Clock } from '../clock.js';
import type { Db } from '../db/client.js';
import { query } from '../db/dialect.js';
import type { Quotas } from './quotas.js';

export interface ProjectUtilisation {
  projectId: string;
  /** The largest (used + reserved) / limit over the project-wide limits, e.g. 0.42; may exceed 1. */
  utilisation: number;
  /** The limit that fraction belongs to (`tokensPerDay`…). */
  limit: string;
}

/**
 * How close each project with limits is to its tightest project-wide limit right now, for the
 * dashboard's quota bars. Key- and model-scoped rules are left out: they cap a slice of the
 * project, not the project.
 */
export async function quotaUtilisation(db: Db, quotas: Quotas, clock: Clock): Promise<ProjectUtilisation[]> {
  await quotas.fresh();
  const now = clock.now();
  // By project id, sorted here: without it each backend answers its own storage order (an update moves a Postgres row).
  const ids = (await query<{ project_id: string }>(db, 'SELECT project_id FROM project_limits')).map((r) => r.project_id).sort();
  const out: ProjectUtilisation[] = [];
  for (const projectId of ids) {
    let best: ProjectUtilisation | null = null;
    for (const l of quotas.status(projectId, null, now).limits) {
      if (l.scope !== 'project' || l.value <= 0) continue;
      const utilisation = (l.used + l.reserved) / l.value;
      if (!best || utilisation > best.utilisation) best = { projectId, utilisation, limit: l.limit };
    }
    if (best) out.push(best);
  }
  return out;
}
