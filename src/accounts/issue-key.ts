import type { Operator } from './context.js';
import { createKey } from './keys.js';
import { createProject, projectBySlug } from './projects.js';
import { Slug } from './schemas.js';
import { createTenant, tenantRow } from './tenants.js';
import type { Clock } from '../clock.js';
import type { Db } from '../db/client.js';
import { transaction } from '../db/dialect.js';
import { GatewayError } from '../errors.js';

export interface CreatedKey {
  id: string;
  key: string;
  prefix: string;
  tenant: string;
  project: string;
}

/** Finds or creates (audited) a live tenant and project by slug: the core's one-step key issuing. */
export async function ensureProject(op: Operator, tenant: string, project: string): Promise<{ id: string; tenantSlug: string; slug: string }> {
  for (const [kind, slug] of [['tenant', tenant], ['project', project]] as const) {
    if (!Slug.safeParse(slug).success) throw new GatewayError('invalid_argument', `${kind} slug must be lowercase letters, digits and dashes (got "${slug}")`);
  }
  const t = (await existing(() => tenantRow(op, tenant))) ?? (await createTenant(op, { slug: tenant }));
  const p = (await projectBySlug(op, t.id, project)) ?? (await createProject(op, { tenantId: t.id, slug: project }));
  return { id: p.id, tenantSlug: t.slug, slug: p.slug };
}

/** Issues a key for tenant/project slugs, creating them if needed; the secret exists only in the return value. */
export function createKeyFor(
  db: Db,
  clock: Clock,
  input: { tenant: string; project: string; name?: string; expiresAt?: number | null },
  actor = 'cli',
): Promise<CreatedKey> {
  return transaction(db, async (tx) => {
    const op: Operator = { db: tx, clock, actor };
    const p = await ensureProject(op, input.tenant, input.project);
    const expiresAt = input.expiresAt == null ? null : new Date(input.expiresAt).toISOString();
    const issued = await createKey(op, { projectId: p.id, name: input.name, expiresAt });
    return { id: issued.key.id, key: issued.secret, prefix: issued.key.prefix, tenant: p.tenantSlug, project: p.slug };
  });
}

async function existing<T>(find: () => Promise<T>): Promise<T | undefined> {
  try {
    return await find();
  } catch (err) {
    if (err instanceof GatewayError && err.code === 'not_found') return undefined;
    throw err;
  }
}
