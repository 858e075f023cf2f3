import { OpenAPIHono } from '@hono/zod-openapi';
import { HTTPException } from 'hono/http-exception';
import type { AppEnv } from '../deps.js';
import type { AdminApp, AdminDeps } from './types.js';
import { GatewayError, renderError, toGatewayError, validationHook } from '../errors.js';
import { adminAuth } from '../auth/admin-auth.js';
import { ADMIN_ROUTES } from './routes.js';

/** Admin JSON errors: zod validation failures become 400 with every problem listed. */
export function newAdminApp(): AdminApp {
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
}

/** Hono's own request errors (malformed JSON, missing content-type) in the admin error shape. */
function fromHttpException(err: HTTPException): GatewayError {
  if (err.status === 415) return new GatewayError('invalid_argument', 'Send the request body as JSON with content-type: application/json.');
  if (err.status === 404) return new GatewayError('not_found', err.message || 'Not found.');
  return new GatewayError('invalid_argument', err.message || 'Bad request.');
}

/**
 * /admin/v1: every resource module registers its routes on one OpenAPIHono, so the OpenAPI
 * document is generated from the same zod schemas that validate requests.
 */
export function createAdminApp(deps: AdminDeps): AdminApp {
  const app = newAdminApp();
  app.onError((err, c) => {
    const ge = err instanceof HTTPException && err.status < 500 ? fromHttpException(err) : toGatewayError(err);
    if (!(err instanceof GatewayError)) deps.log.error({ requestId: c.get('requestId'), err: (err as Error).message }, 'admin failure');
    return c.body(renderError(ge, 'admin', c.get('requestId')), ge.status as 500, { 'content-type': 'application/json' });
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'adminToken', { type: 'http', scheme: 'bearer' });
  app.doc31('/admin/v1/openapi.json', {
    openapi: '3.1.0',
    info: { title: 'Gemini Gateway admin API', version: '1' },
    security: [{ adminToken: [] }],
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
