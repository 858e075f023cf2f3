import { createRoute, z } from '@hono/zod-openapi';
import { LIMIT_NAMES } from '../quota/policy.js';
import type { RegisterSelfServiceRoutes } from './types.js';
import { googleErrors } from './schemas.js';

const LimitStatus = z
  .object({
    policy: z.string().openapi({ description: 'The name in RateLimit headers and refusals: rpm, key/tpd, model/<m>/tpm…' }),
    limit: z.enum(LIMIT_NAMES as [string, ...string[]]),
    scope: z.enum(['project', 'key', 'model']),
    keyId: z.string().optional(),
    model: z.string().optional(),
    value: z.number().int(),
    used: z.number().int().openapi({ description: 'Settled usage in the current window, or requests in flight for maxConcurrent' }),
    reserved: z.number().int().openapi({ description: 'Tokens held by requests still in flight' }),
    remaining: z.number().int(),
    window: z.enum(['minute', 'day', 'month']).nullable(),
    resetsAt: z.string().nullable().openapi({ description: 'ISO 8601; null for maxConcurrent' }),
  })
  .openapi('LimitStatus');

const QuotaStatus = z
  .object({
    tenant: z.string().openapi({ description: 'Tenant slug' }),
    project: z.object({ id: z.string(), slug: z.string() }),
    keyId: z.string(),
    hardCap: z.boolean(),
    inFlight: z.object({ requests: z.number().int(), reservedTokens: z.number().int() }),
    limits: z.array(LimitStatus),
  })
  .openapi('QuotaStatus');

const quota = createRoute({
  method: 'get',
  path: '/gateway/v1/quota',
  tags: ['Quota'],
  summary: "The calling key's limits and current consumption: its project's rules, its own key's rules and the per-model rules",
  responses: { 200: { description: 'Limits with used, reserved, remaining and resetsAt', content: { 'application/json': { schema: QuotaStatus } } }, ...googleErrors(401) },
});

/** GET /gateway/v1/quota: never another key's rules. */
export const registerSelfServiceQuota: RegisterSelfServiceRoutes = (app, { quotas, clock }) => {
  app.openapi(quota, (c) => {
    const p = c.get('principal');
    const status = quotas.status(p.projectId, p.keyId, clock.now());
    return c.json({ tenant: p.tenantSlug, project: { id: p.projectId, slug: p.projectSlug }, keyId: p.keyId, ...status }, 200, { 'cache-control': 'no-store' });
  });
};
