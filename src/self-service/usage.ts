import { createRoute } from '@hono/zod-openapi';
import { looksLikeKey } from '../auth/keys.js';
import { jsonOrCsv, UsageEventPage, UsageReport } from '../usage/api-schemas.js';
import { aggregateParams, eventsParams } from '../usage/params.js';
import { createUsageService, sendAggregate, sendEvents } from '../usage/service.js';
import type { RegisterSelfServiceRoutes } from './types.js';
import { googleErrors } from './schemas.js';

const aggregate = createRoute({
  method: 'get',
  path: '/gateway/v1/usage',
  tags: ['Usage'],
  summary: "The calling key's project usage: same filters, groupings and CSV as /admin/v1/usage",
  request: { query: aggregateParams },
  responses: { 200: jsonOrCsv(UsageReport, 'The report, or its groups as CSV'), ...googleErrors() },
});

const events = createRoute({
  method: 'get',
  path: '/gateway/v1/usage/events',
  tags: ['Usage'],
  summary: "The calling key's project usage events, newest first",
  request: { query: eventsParams },
  responses: { 200: jsonOrCsv(UsageEventPage, 'A page of events, or the page as CSV'), ...googleErrors() },
});

/**
 * The scope is the key's project, ANDed with any filter given: a `project` or `tenant` filter that
 * names something else yields no rows, never another project's usage.
 */
export const registerSelfServiceUsage: RegisterSelfServiceRoutes = (app, deps) => {
  const usage = createUsageService(deps);
  app.openapi(aggregate, async (c) => {
    const q = withoutCredential(c.req.valid('query'));
    return sendAggregate(c, await usage.aggregate(q, c.get('principal').projectId), q.format);
  });
  app.openapi(events, async (c) => {
    const q = withoutCredential(c.req.valid('query'));
    return sendEvents(c, await usage.events(q, c.get('principal').projectId), q.format);
  });
};

/** `?key=<whole secret>` authenticated the call (Google's curl style); it is not a key filter. */
function withoutCredential<Q extends { key?: string }>(q: Q): Q {
  return q.key !== undefined && looksLikeKey(q.key) ? { ...q, key: undefined } : q;
}
