import { createRoute, z } from '@hono/zod-openapi';
import { Timestamp } from '../accounts/schemas.js';
import { pageOf, wholeList } from '../db/pagination.js';
import { UNPRICED_WINDOW_DAYS, unpricedRecentModels } from '../usage/unpriced-recent.js';
import type { RegisterAdminRoutes } from './types.js';
import { errors, json } from './routing.js';

const UnpricedRecentModel = z
  .object({
    model: z.string().openapi({ example: 'gemini-9.9-flash' }),
    requests: z.number().int(),
    totalTokens: z.number().int(),
    lastSeenAt: Timestamp.openapi({ description: 'Start (UTC) of the last day the model was used' }),
  })
  .openapi('UnpricedRecentModel');

const unpriced = createRoute({
  method: 'get',
  path: '/admin/v1/prices/unpriced',
  tags: ['Usage'],
  summary: 'Models used recently that have no price in the table in force now (what `gemini-gateway prices check` reports)',
  description: `Models with tokens, images or video seconds in the daily rollups of the last \`days\` days (default ${UNPRICED_WINDOW_DAYS}) whose price the price book does not know; their cost is left out of estimates. Most used first. The dashboard shows a warning while this list is not empty.`,
  request: { query: z.object({ days: z.coerce.number().int().min(1).max(400).default(UNPRICED_WINDOW_DAYS) }) },
  responses: { 200: json(pageOf(UnpricedRecentModel), 'Every such model (one page)'), ...errors() },
});

/** /admin/v1/prices/unpriced. */
export const registerPriceRoutes: RegisterAdminRoutes = (app, deps) => {
  app.openapi(unpriced, async (c) => {
    const models = await unpricedRecentModels(deps.db, deps.prices, deps.clock.now(), c.req.valid('query').days);
    return c.json(wholeList(models.map((m) => ({ ...m, lastSeenAt: new Date(m.lastSeenAt).toISOString() }))), 200);
  });
};
