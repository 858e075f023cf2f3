import { createRoute } from '@hono/zod-openapi';
import { aggregateParams, eventsParams } from '../usage/params.js';
import { createUsageService, sendAggregate, sendEvents } from '../usage/service.js';
import { jsonOrCsv, priceTables, PriceTable, ProjectUtilisation, UnpricedModel, UsageEventPage, UsageReport } from '../usage/api-schemas.js';
import { quotaUtilisation } from '../quota/utilisation.js';
import { unpricedModels } from '../usage/unpriced.js';
import { pageOf, wholeList } from '../db/pagination.js';
import type { RegisterAdminRoutes } from './types.js';
import { errors, json } from './routing.js';

const tags = ['Usage'];

const aggregate = createRoute({
  method: 'get',
  path: '/admin/v1/usage',
  tags,
  summary: 'Usage aggregated from hourly rollups',
  description:
    'Request, error and aborted counts, every token column, estimated USD cost and approximate latency/TTFB percentiles per group. ' +
    '`format=csv` returns the groups as CSV with a header row. from/to may be any instant and are answered exactly (default: the last 30 days).',
  request: { query: aggregateParams },
  responses: { 200: jsonOrCsv(UsageReport, 'The report, or its groups as CSV'), ...errors() },
});

const events = createRoute({
  method: 'get',
  path: '/admin/v1/usage/events',
  tags,
  summary: 'Raw usage events, newest first',
  description: 'Keyset-paginated: pass `nextCursor` back as `cursor`. Same filters as /admin/v1/usage; from/to may be any instant. CSV carries the next cursor in the x-next-cursor header.',
  request: { query: eventsParams },
  responses: { 200: jsonOrCsv(UsageEventPage, 'A page of events, or the page as CSV'), ...errors() },
});

const prices = createRoute({
  method: 'get',
  path: '/admin/v1/usage/prices',
  tags,
  summary: 'The price tables in force, newest first',
  responses: { 200: json(pageOf(PriceTable), 'Every price table (one page)'), ...errors() },
});

const unpriced = createRoute({
  method: 'get',
  path: '/admin/v1/usage/unpriced-models',
  tags,
  summary: 'Models seen without a price, with how many requests (their cost is left out of estimates)',
  responses: { 200: json(pageOf(UnpricedModel), 'Every unpriced model (one page)'), ...errors() },
});

const quota = createRoute({
  method: 'get',
  path: '/admin/v1/usage/quota',
  tags,
  summary: 'How close each project with limits is to its tightest project-wide limit (the dashboard quota bars)',
  responses: { 200: json(pageOf(ProjectUtilisation), 'Every project with limits (one page)'), ...errors() },
});

/** /admin/v1/usage, /usage/events, /usage/prices, /usage/unpriced-models and /usage/quota. */
export const registerUsageRoutes: RegisterAdminRoutes = (app, deps) => {
  const usage = createUsageService(deps);
  app.openapi(aggregate, async (c) => {
    const q = c.req.valid('query');
    return sendAggregate(c, await usage.aggregate(q), q.format);
  });
  app.openapi(events, async (c) => {
    const q = c.req.valid('query');
    return sendEvents(c, await usage.events(q), q.format);
  });
  app.openapi(quota, async (c) => c.json(wholeList(await quotaUtilisation(deps.db, deps.quotas, deps.clock)), 200));
  app.openapi(prices, (c) => c.json(wholeList(priceTables(deps.prices)), 200));
  app.openapi(unpriced, async (c) => c.json(wholeList(await unpricedModels(deps.db)), 200));
};
