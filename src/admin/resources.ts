import { createRoute, z } from '@hono/zod-openapi';
import { Timestamp } from '../accounts/schemas.js';
import { RESOURCE_KINDS, type ResourceKind } from '../ownership/kinds.js';
import { assignResource, listResources } from '../ownership/resource-admin.js';
import { ownerFilters } from './keys.js';
import { pageOf } from '../db/pagination.js';
import { pageQuery } from './list-query.js';
import type { RegisterAdminRoutes } from './types.js';
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


/** Ownership of upstream resources (files, cached contents, batches…): assign what the gateway never saw created (audited), list what it knows. */
export const registerResourceRoutes: RegisterAdminRoutes = (app, deps) => {
  app.openapi(
    createRoute({
      method: 'post', path: '/admin/v1/resources/assign', tags: ['Resources'], summary: 'Give a resource the gateway never saw created to a project (audited)',
      request: { body: body(AssignBody) }, responses: { 200: json(Resource, 'The resource and its owner'), ...errors(404) },
    }),
    async (c) => {
      const assigned = await assignResource(operatorOf(c, deps), c.req.valid('json'));
      deps.resources.invalidate(assigned.name);
      return c.json(assigned as z.infer<typeof Resource>, 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'get', path: '/admin/v1/resources', tags: ['Resources'], summary: 'List owned resources, newest first',
      request: { query: z.object({ ...pageQuery, ...ownerFilters, kind: z.enum(Object.keys(RESOURCE_KINDS) as [ResourceKind, ...ResourceKind[]]).optional() }) },
      responses: { 200: json(pageOf(Resource), 'A page of resources'), ...errors() },
    }),
    async (c) => c.json(await listResources(accountsOf(deps), c.req.valid('query')) as z.infer<ReturnType<typeof pageOf<typeof Resource>>>, 200),
  );
};
