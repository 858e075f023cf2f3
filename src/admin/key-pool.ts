import { createRoute, z } from '@hono/zod-openapi';
import { Timestamp } from '../accounts/schemas.js';
import { wholeList } from '../db/pagination.js';
import { usageByUpstreamKey } from '../ownership/resource-admin.js';
import { pageOf } from '../db/pagination.js';
import type { RegisterAdminRoutes } from './types.js';
import { errors, json } from './routing.js';

/** One key of the GEMINI_API_KEY(S) pool (not a project's own key, which is an `UpstreamKey`). */
const PoolKey = z
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
  .openapi('PoolKey');

/** The upstream key pool's health (in memory) and the usage recorded against each key. */
export const registerKeyPoolRoutes: RegisterAdminRoutes = (app, deps) => {
  app.openapi(
    createRoute({
      method: 'get', path: '/admin/v1/upstream-key-pool', tags: ['Upstream keys'], summary: 'The env key pool: health and recorded usage per key (ids only)',
      responses: { 200: json(pageOf(PoolKey), 'Every pool key (one page)'), ...errors() },
    }),
    async (c) => {
      const usage = new Map((await usageByUpstreamKey(deps.db)).map((u) => [u.upstreamKeyId, u]));
      const keys = deps.keyPool.health().map((k) => {
        const u = usage.get(k.id);
        const coolingUntil = k.coolingUntil === null ? null : new Date(k.coolingUntil).toISOString();
        return { ...k, coolingUntil, requests: u?.requests ?? 0, totalTokens: u?.totalTokens ?? 0, lastUsedAt: u?.lastUsedAt ?? null };
      });
      return c.json(wholeList(keys), 200);
    },
  );
};
