import { Hono } from 'hono';
import type { AppDeps, AppEnv } from '../app.js';
import { GatewayError, renderError, toGatewayError } from '../errors.js';

/**
 * GET /gateway/v1/quota: a tenant key reads its project's limits and current consumption (the
 * project's rules, its own key's rules and the per-model rules; never another key's).
 */
export function createQuotaApp({ tenantAuth, quotas, clock, log }: AppDeps) {
  const app = new Hono<AppEnv>();
  app.onError((err, c) => {
    const ge = toGatewayError(err);
    if (!(err instanceof GatewayError)) log.error({ requestId: c.get('requestId'), err: (err as Error).message }, 'quota endpoint failure');
    return c.body(renderError(ge, 'google'), ge.status as 500, { 'content-type': 'application/json; charset=UTF-8' });
  });
  app.get('/gateway/v1/quota', (c) => {
    const url = c.env.incoming.url ?? '';
    const q = url.indexOf('?');
    const { principal: p } = tenantAuth(c.env.incoming, q === -1 ? '' : url.slice(q));
    const status = quotas.status(p.projectId, p.keyId, clock.now());
    return c.json({ tenant: p.tenantSlug, project: { id: p.projectId, slug: p.projectSlug }, keyId: p.keyId, ...status }, 200, { 'cache-control': 'no-store' });
  });
  return app;
}
