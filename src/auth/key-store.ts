import { and, eq, isNull } from 'drizzle-orm';
import type { Clock } from '../clock.js';
import type { Db } from '../db/client.js';
import { apiKeys, projects, tenants } from '../db/schema/index.js';
import { GatewayError } from '../errors.js';
import { generateKey, newId } from './keys.js';

export interface CreatedKey {
  id: string;
  key: string;
  prefix: string;
  tenant: string;
  project: string;
}

const SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/;

function checkSlug(kind: string, slug: string): void {
  if (!SLUG.test(slug)) {
    throw new GatewayError('invalid_argument', `${kind} slug must be lowercase letters, digits and dashes (got "${slug}")`);
  }
}

/** Finds or creates the tenant and project by slug, then issues a key; the secret exists only in the return value. */
export function createKeyFor(
  db: Db,
  clock: Clock,
  input: { tenant: string; project: string; name?: string; expiresAt?: number | null },
): CreatedKey {
  checkSlug('tenant', input.tenant);
  checkSlug('project', input.project);
  const now = clock.now();
  return db.transaction((tx) => {
    let tenant = tx.select().from(tenants).where(eq(tenants.slug, input.tenant)).get();
    if (!tenant) {
      tenant = { id: newId('ten'), slug: input.tenant, name: input.tenant, labels: '{}', disabledAt: null, deletedAt: null, createdAt: now, updatedAt: now };
      tx.insert(tenants).values(tenant).run();
    }
    let project = tx.select().from(projects).where(and(eq(projects.tenantId, tenant.id), eq(projects.slug, input.project))).get();
    if (!project) {
      project = { id: newId('prj'), tenantId: tenant.id, slug: input.project, name: input.project, labels: '{}', upstreamKeyId: null, disabledAt: null, deletedAt: null, createdAt: now, updatedAt: now };
      tx.insert(projects).values(project).run();
    }
    const k = generateKey();
    const id = newId('key');
    tx.insert(apiKeys)
      .values({ id, projectId: project.id, name: input.name ?? '', prefix: k.prefix, hash: k.hash, expiresAt: input.expiresAt ?? null, createdAt: now, updatedAt: now })
      .run();
    return { id, key: k.secret, prefix: k.prefix, tenant: tenant.slug, project: project.slug };
  });
}

export interface KeyListing {
  id: string;
  name: string;
  prefix: string;
  tenant: string;
  project: string;
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
  lastUsedAt: number | null;
}

export function listKeys(db: Db): KeyListing[] {
  return db
    .select({
      id: apiKeys.id,
      name: apiKeys.name,
      prefix: apiKeys.prefix,
      tenant: tenants.slug,
      project: projects.slug,
      createdAt: apiKeys.createdAt,
      expiresAt: apiKeys.expiresAt,
      revokedAt: apiKeys.revokedAt,
      lastUsedAt: apiKeys.lastUsedAt,
    })
    .from(apiKeys)
    .innerJoin(projects, eq(apiKeys.projectId, projects.id))
    .innerJoin(tenants, eq(projects.tenantId, tenants.id))
    .orderBy(apiKeys.createdAt)
    .all();
}

export function revokeKey(db: Db, clock: Clock, id: string): void {
  const now = clock.now();
  const res = db.update(apiKeys).set({ revokedAt: now, updatedAt: now }).where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt))).run();
  if (res.changes === 0) {
    const exists = db.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.id, id)).get();
    if (!exists) throw new GatewayError('not_found', `no key with id ${id}`);
  }
}
