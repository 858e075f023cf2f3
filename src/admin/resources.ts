import { createRoute, z } from '@hono/zod-openapi';
import { assignResource, listResources, usageByUpstreamKey } from '../ownership/resource-admin.js';
import type { RegisterAdminRoutes } from './routes.js';

const Resource = z
  .object({
    name: z.string(),
    kind: z.string(),
    tenantId: z.string(),
    projectId: z.string(),
    upstreamKeyId: z.string().nullable(),
    source: z.enum(['created', 'assigned']),
    createdAt: z.number().int(),
  })
  .openapi('Resource');

const AssignBody = z
  .object({
    name: z.string().min(1).openapi({ example: 'files/abc123' }),
    projectId: z.string().optional(),
    tenant: z.string().optional(),
    project: z.string().optional(),
    upstreamKeyId: z.string().nullable().optional().openapi({ description: 'Key holding the resource upstream; requests for it are pinned to this key.' }),
  })
  .refine((b) => b.projectId !== undefined || (b.tenant !== undefined && b.project !== undefined), { message: 'give projectId, or tenant and project' });

const UpstreamKey = z
  .object({
    id: z.string(),
    state: z.enum(['healthy', 'cooling', 'disabled']),
    coolingUntil: z.number().int().nullable(),
    disabledReason: z.string().nullable(),
    refusals: z.number().int(),
    requests: z.number().int(),
    totalTokens: z.number().int(),
    lastUsedAt: z.number().int().nullable(),
  })
  .openapi('UpstreamKey');

const json = <T extends z.ZodType>(schema: T, description: string) => ({ content: { 'application/json': { schema } }, description });

/** Resource ownership (assign what the gateway never saw created) and the upstream key pool's health and usage. */
export const registerResourceRoutes: RegisterAdminRoutes = (app, deps) => {
  app.openapi(
    createRoute({ method: 'post', path: '/admin/v1/resources/assign', tags: ['resources'], request: { body: json(AssignBody, 'Resource and owner') }, responses: { 200: json(Resource, 'Assigned') } }),
    (c) => {
      const assigned = assignResource(deps.db, deps.clock, c.req.valid('json'));
      deps.resources.invalidate(assigned.name);
      return c.json(assigned as z.infer<typeof Resource>, 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/admin/v1/resources',
      tags: ['resources'],
      request: { query: z.object({ projectId: z.string().optional(), kind: z.string().optional() }) },
      responses: { 200: json(z.object({ resources: z.array(Resource) }), 'Recorded resources') },
    }),
    (c) => c.json({ resources: listResources(deps.db, c.req.valid('query')) as z.infer<typeof Resource>[] }, 200),
  );
  app.openapi(
    createRoute({ method: 'get', path: '/admin/v1/upstream-key-pool', tags: ['upstream keys'], responses: { 200: json(z.object({ keys: z.array(UpstreamKey) }), 'Pool health and recorded usage per key') } }),
    (c) => {
      const usage = new Map(usageByUpstreamKey(deps.db).map((u) => [u.upstreamKeyId, u]));
      const keys = deps.keyPool.health().map((k) => {
        const u = usage.get(k.id);
        return { ...k, requests: u?.requests ?? 0, totalTokens: u?.totalTokens ?? 0, lastUsedAt: u?.lastUsedAt ?? null };
      });
      return c.json({ keys }, 200);
    },
  );
};
