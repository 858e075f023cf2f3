import { createRoute, z } from '@hono/zod-openapi';
import { Timestamp } from '../accounts/schemas.js';
import { listAudit } from '../audit/audit-log.js';
import { pageOf } from '../db/pagination.js';
import { pageQuery } from './list-query.js';
import type { RegisterAdminRoutes } from './types.js';
import { errors, json } from './routing.js';

const AuditEvent = z
  .object({
    id: z.string(),
    at: Timestamp,
    actor: z.string().openapi({ description: '`admin-token` (admin API) or `cli:<os user>` (CLI)' }),
    action: z.string().openapi({ example: 'key.rotate' }),
    target: z.object({ type: z.string(), id: z.string() }),
    before: z.any().openapi({ description: 'Summary before the change (no secrets); null on create' }),
    after: z.any().openapi({ description: 'Summary after the change (no secrets)' }),
    requestId: z.string().nullable(),
  })
  .openapi('AuditEvent');

/** GET /admin/v1/audit: every admin mutation, from the API or the CLI, newest first. */
export const registerAuditRoutes: RegisterAdminRoutes = (app, deps) => {
  app.openapi(
    createRoute({
      method: 'get', path: '/admin/v1/audit', tags: ['Audit'], summary: 'List audit events, newest first',
      request: {
        query: z.object({
          ...pageQuery,
          actor: z.string().optional().openapi({ description: 'Exact actor, or `cli` for every CLI user' }),
          action: z.string().optional().openapi({ description: 'Exact action (`key.rotate`) or a resource prefix (`key.`)' }),
          targetType: z.string().optional(),
          targetId: z.string().optional(),
        }),
      },
      responses: { 200: json(pageOf(AuditEvent), 'A page of audit events'), ...errors() },
    }),
    async (c) => c.json(await listAudit(deps.db, c.req.valid('query')), 200),
  );
};
