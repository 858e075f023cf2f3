import { createRoute, z } from '@hono/zod-openapi';
import { Timestamp } from '../accounts/schemas.js';
import { assignResource, listResources, usageByUpstreamKey } from '../ownership/resource-admin.js';
import { ownerFilters } from './keys.js';
import { pageOf, pageQuery, wholeList } from './pagination.js';
import type { RegisterAdminRoutes } from './routes.js';
import { accountsOf, body, errors, json, operatorOf } from './routing.js';

const Resource = z
  .object({
    name: z.string().openapi({ example: 'files/abc123' }),
    kind: z.string(),
    tenantId: z.string(),
    projectId: z.string(),
    upstreamKeyId: z.string().nullable(),
    source: z.enum(['created', 'assigned']),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .openapi('Resource');

const AssignBody = z
  .object({
    name: z.string().min(1).openapi({ example: 'files/abc123' }),
    projectId: z.string().optional(),
    tenant: z.string().optional().openapi({ description: 'Tenant id or slug (with `project`)' }),
    project: z.string().optional().openapi({ description: 'Project slug within `tenant`' }),
    upstreamKeyId: z.string().nullable().optional().openapi({ description: 'Key holding the resource upstream; requests for it are pinned to this key.' }),
  })
  .refine((b) => b.projectId !== undefined || (b.tenant !== undefined && b.project !== undefined), { message: 'give projectId, or tenant and project' })
  .openapi('ResourceAssign');

const PooledUpstreamKey = z
  .object({
    id: z.string().openapi({ example: 'env:3f9a0c1b2d4e' }),
    state: z.enum(['healthy', 'cooling', 'disabled']),
    coolingUntil: Timestamp.nullable().openapi({ description: 'When the cooldown ends, while cooling.' }),
    disabledReason: z.string().nullable(),
    refusals: z.number().int(),
    requests: z.number().int(),
    totalTokens: z.number().int(),
    lastUsedAt: Timestamp.nullable(),
  })
  .openapi('PooledUpstreamKey');

const RESOURCE_KINDS = ['files', 'cachedContents', 'batches', 'operations', 'interactions', 'uploads'] as const;

/** Resource ownership (assign what the gateway never saw created) and the upstream key pool's health and usage. */
export const registerResourceRoutes: RegisterAdminRoutes = (app, deps) => {
  app.openapi(
    createRoute({
      method: 'post', path: '/admin/v1/resources/assign', tags: ['Resources'], summary: 'Give a resource the gateway never saw created to a project (audited)',
      request: { body: body(AssignBody) }, responses: { 200: json(Resource, 'The resource and its owner'), ...errors(404) },
    }),
    (c) => {
      const assigned = assignResource(operatorOf(c, deps), c.req.valid('json'));
      deps.resources.invalidate(assigned.name);
      return c.json(assigned as z.infer<typeof Resource>, 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'get', path: '/admin/v1/resources', tags: ['Resources'], summary: 'List owned resources, newest first',
      request: { query: z.object({ ...pageQuery, ...ownerFilters, kind: z.enum(RESOURCE_KINDS).optional() }) },
      responses: { 200: json(pageOf(Resource), 'A page of resources'), ...errors() },
    }),
    (c) => c.json(listResources(accountsOf(deps), c.req.valid('query')) as z.infer<ReturnType<typeof pageOf<typeof Resource>>>, 200),
  );
  app.openapi(
    createRoute({
      method: 'get', path: '/admin/v1/upstream-key-pool', tags: ['Upstream keys'], summary: 'The env key pool: health and recorded usage per key (ids only)',
      responses: { 200: json(pageOf(PooledUpstreamKey), 'Every pool key (one page)'), ...errors() },
    }),
    (c) => {
      const usage = new Map(usageByUpstreamKey(deps.db).map((u) => [u.upstreamKeyId, u]));
      const keys = deps.keyPool.health().map((k) => {
        const u = usage.get(k.id);
        const coolingUntil = k.coolingUntil === null ? null : new Date(k.coolingUntil).toISOString();
        return { ...k, coolingUntil, requests: u?.requests ?? 0, totalTokens: u?.totalTokens ?? 0, lastUsedAt: u?.lastUsedAt ?? null };
      });
      return c.json(wholeList(keys), 200);
    },
  );
};
