import { createRoute, z } from '@hono/zod-openapi';
import { RESOURCE_KINDS, type ResourceKind } from '../ownership/kinds.js';
import { assignResource, listResources } from '../ownership/resource-admin.js';
import type { RegisterAdminRoutes } from './types.js';
import { json } from './routing.js';

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

/** Ownership of upstream resources (files, cached contents, batches…): assign what the gateway never saw created, list what it knows. */
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
      request: { query: z.object({ projectId: z.string().optional(), kind: z.enum(Object.keys(RESOURCE_KINDS) as [ResourceKind, ...ResourceKind[]]).optional() }) },
      responses: { 200: json(z.object({ resources: z.array(Resource) }), 'Recorded resources') },
    }),
    (c) => c.json({ resources: listResources(deps.db, c.req.valid('query')) as z.infer<typeof Resource>[] }, 200),
  );
};
