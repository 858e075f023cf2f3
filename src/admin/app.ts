import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../deps.js';
import type { AdminApp, AdminDeps } from './types.js';
import { GatewayError, onErrorFor, validationHook } from '../errors.js';
import { adminAuth } from '../auth/admin-auth.js';
import { ADMIN_ROUTES } from './routes.js';
import { strictQueries } from '../strict-query.js';

/** Every admin operation carries exactly one of these. */
const ADMIN_TAGS = [
  { name: 'Tenants', description: 'Teams: they own projects' },
  { name: 'Projects', description: "A tenant's projects: they own keys, limits and upstream resources" },
  { name: 'Keys', description: 'Gateway keys (the secret is shown once)' },
  { name: 'Upstream keys', description: 'Bring-your-own Gemini keys, and the env key pool' },
  { name: 'Limits', description: 'Per-project quota policies' },
  { name: 'Usage', description: 'Usage, cost, prices and quota utilisation' },
  { name: 'Resources', description: 'Which project owns each upstream file, cache, batch and interaction' },
  { name: 'Audit', description: 'Every admin change, from the API or the CLI' },
];

/** Admin JSON errors: zod validation failures, and query parameters a route does not declare, become 400 with every problem listed. */
export function newAdminApp(): AdminApp {
  return strictQueries(new OpenAPIHono<AppEnv>({ defaultHook: validationHook }));
}

/**
 * /admin/v1: every resource module registers its routes on one OpenAPIHono, so the OpenAPI
 * document is generated from the same zod schemas that validate requests.
 */
export function createAdminApp(deps: AdminDeps): AdminApp {
  const app = newAdminApp();
  app.onError(onErrorFor('admin', deps.log, 'admin'));
  app.openAPIRegistry.registerComponent('securitySchemes', 'adminToken', { type: 'http', scheme: 'bearer' });
  app.doc31('/admin/v1/openapi.json', {
    openapi: '3.1.0',
    info: { title: 'Gemini Gateway admin API', version: '1' },
    security: [{ adminToken: [] }],
    tags: ADMIN_TAGS,
  });
  app.use('/admin/v1/*', async (c, next) => {
    if (c.req.path === '/admin/v1/openapi.json') return next();
    return adminAuth(deps.config.ADMIN_TOKEN)(c, next);
  });
  for (const register of ADMIN_ROUTES) register(app, deps);
  // Unknown admin paths must not fall through to the data plane's catch-all.
  app.all('/admin/*', (c) => {
    throw new GatewayError('not_found', `No admin route ${c.req.method} ${c.req.path}`);
  });
  return app;
}
