import { OpenAPIHono } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { looksLikeKey } from '../auth/keys.js';
import { GatewayError, renderError, toGatewayError, validationHook } from '../errors.js';
import { SELF_SERVICE_PATHS, SELF_SERVICE_ROUTES } from './routes.js';
import type { SelfServiceApp, SelfServiceDeps, SelfServiceEnv } from './types.js';

/**
 * /gateway/v1: what a tenant key may read about itself. Authenticates exactly like the data plane
 * (x-goog-api-key, ?key= or Bearer; same resolver, so revocation is seen within a second) and
 * answers errors in Google's shape, which is what tenant clients already parse.
 */
export function createSelfServiceApp(deps: SelfServiceDeps): SelfServiceApp {
  const app = new OpenAPIHono<SelfServiceEnv>({ defaultHook: validationHook });
  app.onError((err, c) => {
    const ge = toGatewayError(err);
    if (!(err instanceof GatewayError)) deps.log.error({ requestId: c.get('requestId'), err: (err as Error).message }, 'self-service failure');
    return c.body(renderError(ge, 'google'), ge.status as 500, { 'content-type': 'application/json; charset=UTF-8' });
  });
  const authenticate: MiddlewareHandler<SelfServiceEnv> = async (c, next) => {
    // `key` is also the usage filter here, so the query string counts as a credential only when it holds a whole secret.
    const queryKey = c.req.query('key');
    const search = queryKey && looksLikeKey(queryKey) ? new URL(c.req.url).search : '';
    c.set('principal', deps.tenantAuth(c.env.incoming, search).principal);
    await next();
  };
  for (const path of SELF_SERVICE_PATHS) app.use(path, authenticate);
  for (const register of SELF_SERVICE_ROUTES) register(app, deps);
  return app;
}
