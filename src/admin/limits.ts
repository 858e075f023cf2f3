import { createRoute, z } from '@hono/zod-openapi';
import { Timestamp } from '../accounts/schemas.js';
import { projectLimitsSchema } from '../quota/policy.js';
import { readLimits, writeLimits } from '../quota/policy-store.js';
import type { RegisterAdminRoutes } from './types.js';
import { accountsOf, body, errors, json, operatorOf } from './routing.js';

const ProjectLimits = projectLimitsSchema.openapi('ProjectLimits');
const StoredLimits = projectLimitsSchema
  .safeExtend({ projectId: z.string(), updatedAt: Timestamp.nullable() })
  .openapi('StoredProjectLimits');
const params = z.object({ id: z.string().min(1).openapi({ param: { name: 'id', in: 'path' }, example: 'prj_3kq9x…' }) });

/** GET|PUT /admin/v1/projects/{id}/limits: a project's quota policy, replaced as a whole. */
export const registerLimitRoutes: RegisterAdminRoutes = (app, deps) => {
  app.openapi(
    createRoute({
      method: 'get', path: '/admin/v1/projects/{id}/limits', tags: ['Limits'], summary: "A project's quota policy (empty when it has none)",
      request: { params },
      responses: { 200: json(StoredLimits, 'The policy'), ...errors(404) },
    }),
    async (c) => c.json(await readLimits(accountsOf(deps), c.req.valid('param').id), 200),
  );
  app.openapi(
    createRoute({
      method: 'put', path: '/admin/v1/projects/{id}/limits', tags: ['Limits'], summary: "Replace a project's quota policy; the next request sees it",
      request: { params, body: body(ProjectLimits) },
      responses: { 200: json(StoredLimits, 'The stored policy'), ...errors(404, 422) },
    }),
    async (c) => {
      const saved = await writeLimits(operatorOf(c, deps), c.req.valid('param').id, c.req.valid('json'));
      await deps.quotas.reload();
      return c.json(saved, 200);
    },
  );
};
