import { createRoute } from '@hono/zod-openapi';
import { aggregateParams, eventsParams } from '../usage/params.js';
import { createUsageService, sendAggregate, sendEvents } from '../usage/service.js';
import { quotaUtilisation } from '../quota/utilisation.js';
import { unpricedModels } from '../usage/unpriced.js';
import type { RegisterAdminRoutes } from './types.js';

const aggregate = createRoute({
  method: 'get',
  path: '/admin/v1/usage',
  tags: ['usage'],
  summary: 'Usage aggregated from hourly rollups',
  description:
    'Request, error and aborted counts, every token column, estimated USD cost and approximate latency/TTFB percentiles per group. ' +
    '`format=csv` returns the groups as CSV with a header row. from/to may be any instant and are answered exactly (default: the last 30 days).',
  request: { query: aggregateParams },
  responses: { 200: { description: 'JSON `{from, to, groupBy, groups, totals, notes}` or CSV' }, 400: { description: 'Invalid filter, date, groupBy or range' } },
});

const events = createRoute({
  method: 'get',
  path: '/admin/v1/usage/events',
  tags: ['usage'],
  summary: 'Raw usage events, newest first',
  description: 'Keyset-paginated: pass `nextCursor` back as `cursor`. Same filters as /admin/v1/usage; from/to may be any instant.',
  request: { query: eventsParams },
  responses: { 200: { description: 'JSON `{events, nextCursor}` or CSV (next cursor in the x-next-cursor header)' }, 400: { description: 'Invalid input' } },
});

const prices = createRoute({
  method: 'get',
  path: '/admin/v1/usage/prices',
  tags: ['usage'],
  summary: 'The price tables in force and the models seen without a price',
  responses: { 200: { description: 'JSON `{tables, unpricedModels}`' } },
});

const quota = createRoute({
  method: 'get',
  path: '/admin/v1/usage/quota',
  tags: ['usage'],
  summary: 'How close each project with limits is to its tightest project-wide limit (the dashboard quota bars)',
  responses: { 200: { description: 'JSON `{projects: [{projectId, utilisation, limit}]}`' } },
});

/** /admin/v1/usage, /usage/events, /usage/prices and /usage/quota. */
export const registerUsageRoutes: RegisterAdminRoutes = (app, deps) => {
  const usage = createUsageService(deps);
  app.openapi(aggregate, (c) => {
    const q = c.req.valid('query');
    return sendAggregate(c, usage.aggregate(q), q.format);
  });
  app.openapi(events, (c) => {
    const q = c.req.valid('query');
    return sendEvents(c, usage.events(q), q.format);
  });
  app.openapi(quota, (c) => c.json({ projects: quotaUtilisation(deps.db, deps.quotas, deps.clock) }));
  app.openapi(prices, (c) => c.json({ tables: deps.prices.tables.map((t) => ({ effectiveFrom: new Date(t.effectiveFrom).toISOString(), models: t.models })), unpricedModels: unpricedModels(deps.db) }));
};
