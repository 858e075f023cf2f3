import { createRoute, z } from '@hono/zod-openapi';
import { usageByUpstreamKey } from '../ownership/resource-admin.js';
import type { RegisterAdminRoutes } from './types.js';
import { json } from './routing.js';

/** One key of the GEMINI_API_KEY(S) pool (not a project's own key, which is an `UpstreamKey`). */
const PoolKey = z
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
  .openapi('PoolKey');

/** The upstream key pool's health (in memory) and the usage recorded against each key. */
export const registerKeyPoolRoutes: RegisterAdminRoutes = (app, deps) => {
  app.openapi(
    createRoute({ method: 'get', path: '/admin/v1/upstream-key-pool', tags: ['upstream keys'], responses: { 200: json(z.object({ keys: z.array(PoolKey) }), 'Pool health and recorded usage per key') } }),
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
