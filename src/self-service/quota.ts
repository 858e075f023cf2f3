import type { RegisterSelfServiceRoutes } from './types.js';

/**
 * GET /gateway/v1/quota: a tenant key reads its project's limits and current consumption (the
 * project's rules, its own key's rules and the per-model rules; never another key's).
 */
export const registerSelfServiceQuota: RegisterSelfServiceRoutes = (app, { quotas, clock }) => {
  app.get('/gateway/v1/quota', (c) => {
    const p = c.get('principal');
    const status = quotas.status(p.projectId, p.keyId, clock.now());
    return c.json({ tenant: p.tenantSlug, project: { id: p.projectId, slug: p.projectSlug }, key_id: p.keyId, ...status }, 200, { 'cache-control': 'no-store' });
  });
};
