import type { Operator } from './context.js';
import { createKey } from './keys.js';
import { createProject, projectBySlug } from './projects.js';
import { Slug } from './schemas.js';
import { createTenant, tenantRow } from './tenants.js';
import type { Clock } from '../clock.js';
import type { Db } from '../db/client.js';
import { GatewayError } from '../errors.js';

export interface CreatedKey {
  id: string;
  key: string;
  prefix: string;
  tenant: string;
  project: string;
}

/** Finds or creates (audited) a live tenant and project by slug: the core's one-step key issuing. */
export function ensureProject(op: Operator, tenant: string, project: string): { id: string; tenantSlug: string; slug: string } {
  for (const [kind, slug] of [['tenant', tenant], ['project', project]] as const) {
    if (!Slug.safeParse(slug).success) throw new GatewayError('invalid_argument', `${kind} slug must be lowercase letters, digits and dashes (got "${slug}")`);
  }
  const t = existing(() => tenantRow(op, tenant)) ?? createTenant(op, { slug: tenant });
  const p = projectBySlug(op, t.id, project) ?? createProject(op, { tenantId: t.id, slug: project });
  return { id: p.id, tenantSlug: t.slug, slug: p.slug };
}

/** Issues a key for tenant/project slugs, creating them if needed; the secret exists only in the return value. */
export function createKeyFor(
  db: Db,
  clock: Clock,
  input: { tenant: string; project: string; name?: string; expiresAt?: number | null },
  actor = 'cli',
): CreatedKey {
  const op: Operator = { db, clock, actor };
  return db.$client.transaction(() => {
    const p = ensureProject(op, input.tenant, input.project);
    const expiresAt = input.expiresAt == null ? null : new Date(input.expiresAt).toISOString();
    const issued = createKey(op, { projectId: p.id, name: input.name, expiresAt });
    return { id: issued.key.id, key: issued.secret, prefix: issued.key.prefix, tenant: p.tenantSlug, project: p.slug };
  }).immediate();
}

function existing<T>(find: () => T): T | undefined {
  try {
    return find();
  } catch (err) {
    if (err instanceof GatewayError && err.code === 'not_found') return undefined;
    throw err;
  }
}
