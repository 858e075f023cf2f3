import { createRoute, z } from '@hono/zod-openapi';
import { projectLimitsSchema } from '../quota/policy.js';
import { readLimits, writeLimits } from '../quota/policy-store.js';
import type { RegisterAdminRoutes } from './routes.js';

const ProjectLimits = projectLimitsSchema.openapi('ProjectLimits');
const StoredLimits = projectLimitsSchema
  .safeExtend({ project_id: z.string(), updated_at: z.string().nullable() })
  .openapi('StoredProjectLimits');
const AdminError = z.object({ error: z.object({ code: z.string(), message: z.string(), requestId: z.string().optional() }) }).openapi('AdminError');
const params = z.object({ id: z.string().min(1).openapi({ param: { name: 'id', in: 'path' }, example: 'prj_3kq9x…' }) });
const json = <T>(schema: T, description: string) => ({ content: { 'application/json': { schema } }, description });

const getLimits = createRoute({
  method: 'get',
  path: '/admin/v1/projects/{id}/limits',
  tags: ['limits'],
  summary: "A project's quota policy (empty when it has none)",
  request: { params },
  responses: { 200: json(StoredLimits, 'The policy'), 404: json(AdminError, 'No such project') },
});

const putLimits = createRoute({
  method: 'put',
  path: '/admin/v1/projects/{id}/limits',
  tags: ['limits'],
  summary: "Replaces a project's quota policy; takes effect on the next request",
  request: { params, body: { content: { 'application/json': { schema: ProjectLimits } }, required: true } },
  responses: {
    200: json(StoredLimits, 'The stored policy'),
    400: json(AdminError, 'Invalid policy, or a key that is not in the project'),
    404: json(AdminError, 'No such project'),
  },
});

/** GET|PUT /admin/v1/projects/{id}/limits. */
export const registerLimitRoutes: RegisterAdminRoutes = (app, { db, clock, quotas }) => {
  app.openapi(getLimits, (c) => c.json(readLimits(db, c.req.valid('param').id), 200));
  app.openapi(putLimits, (c) => {
    const stored = writeLimits(db, clock, c.req.valid('param').id, c.req.valid('json'));
    quotas.reload();
    return c.json(stored, 200);
  });
};
