import { OpenAPIHono } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { looksLikeKey } from '../auth/keys.js';
import { GatewayError, onErrorFor, validationHook } from '../errors.js';
import { compileScopes, networkViolation } from '../scopes/scopes.js';
import { strictQueries } from '../strict-query.js';
import { SELF_SERVICE_PATHS, SELF_SERVICE_ROUTES } from './routes.js';
import type { SelfServiceApp, SelfServiceDeps, SelfServiceEnv } from './types.js';

/**
 * /gateway/v1: what a tenant key may read about itself. Authenticates exactly like the data plane
 * (x-goog-api-key, ?key= or Bearer; same resolver, so revocation is seen within a second) and
 * answers errors in Google's shape, which is what tenant clients already parse. Documented at
 * /gateway/v1/openapi.json, readable without a key.
 */
export function createSelfServiceApp(deps: SelfServiceDeps): SelfServiceApp {
  // `?key=` is the credential on every route (Google's style), so it is never an unknown parameter.
  const app = strictQueries(new OpenAPIHono<SelfServiceEnv>({ defaultHook: validationHook }), ['key']);
  app.onError(onErrorFor('google', deps.log, 'self-service'));
  const authenticate = (keyIsFilter: boolean): MiddlewareHandler<SelfServiceEnv> =>
    async function authenticateTenantKey(c, next) {
      // Where `key` is also a filter, the query string counts as a credential only when it holds a whole secret.
      const search = new URL(c.req.url).search;
      const queryKey = c.req.query('key');
      const credential = !keyIsFilter || (queryKey && looksLikeKey(queryKey)) ? search : '';
      const { principal } = await deps.tenantAuth(c.env.incoming, credential);
      // A key bound to networks reads its project's usage only from there, as it calls Gemini only from there.
      const cidrs = principal.scopes.cidrs;
      const denied = cidrs ? networkViolation(compileScopes({ cidrs }), deps.clientAddress(c.env.incoming)) : null;
      if (denied) throw new GatewayError('permission_denied', denied);
      c.set('principal', principal);
      await next();
      // A key sent as a header is invisible to a shared cache: it would serve this project's usage
      // to the next caller of the same URL.
      if (!c.res.headers.has('cache-control')) c.res.headers.set('cache-control', 'no-store');
    };
  for (const { path, keyIsFilter } of SELF_SERVICE_PATHS) app.use(path, authenticate(keyIsFilter));
  for (const register of SELF_SERVICE_ROUTES) register(app, deps);
  app.openAPIRegistry.registerComponent('securitySchemes', 'tenantKey', { type: 'apiKey', in: 'header', name: 'x-goog-api-key' });
  app.doc31('/gateway/v1/openapi.json', {
    openapi: '3.1.0',
    info: { title: 'Gemini Gateway self-service API', version: '1', description: 'What a gateway key may read about its own project. Also accepts the key as ?key= or Authorization: Bearer.' },
    security: [{ tenantKey: [] }],
    tags: [
      { name: 'Usage', description: "The calling key's project usage" },
      { name: 'Quota', description: "The calling key's limits and consumption" },
    ],
  });
  return app;
}
