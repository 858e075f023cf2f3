import type { ClientAddress } from '../../auth/client-address.js';
import type { HttpBindings } from '@hono/node-server';
import { Hono } from 'hono';
import { performance } from 'node:perf_hooks';
import type { Principal } from '../../exchange/principal.js';
import { compileScopes, scopeViolation } from '../../scopes/scopes.js';
import type { Logger } from '../../logger.js';
import type { Ledger } from '../../ledger/ledger.js';
import type { Clock } from '../../clock.js';
import { GatewayError, renderError, toGatewayError } from '../../errors.js';
import type { TenantAuthenticate } from '../../auth/tenant-auth.js';
import { isObject } from '../../values.js';
import type { LiveTokens } from '../../live/tokens.js';

type Env = { Bindings: HttpBindings; Variables: { requestId: string } };

export interface TokenAppDeps {
  tenantAuth: TenantAuthenticate;
  clientAddress: ClientAddress;
  tokens: LiveTokens;
  recorder: Ledger;
  clock: Clock;
  log: Logger;
  maxJsonBytes: number;
}

/**
 * `POST /{version}/auth_tokens` (the SDK's `authTokens.create`), answered by the gateway: the token
 * it issues works only at the gateway, for the caller's project, within the caller's scopes. The
 * request never goes upstream, so no Google token is ever minted with a gateway upstream key.
 */
export function createLiveTokenApp(deps: TokenAppDeps) {
  const app = new Hono<Env>();
  app.post('/:version{v\\d+[a-z0-9]*}/auth_tokens', async (c) => {
    const startedAt = performance.now();
    const requestId = c.get('requestId');
    const incoming = c.env.incoming;
    const url = incoming.url ?? '';
    const q = url.indexOf('?');
    let principal: Principal | null = null;
    let status = 200;
    try {
      principal = deps.tenantAuth(incoming, q === -1 ? '' : url.slice(q)).principal;
      const text = await c.req.text();
      if (Buffer.byteLength(text) > deps.maxJsonBytes) throw new GatewayError('payload_too_large', 'Request body too large.');
      let body: unknown = {};
      try {
        body = text ? JSON.parse(text) : {};
      } catch {
        throw new GatewayError('invalid_argument', 'Request body is not valid JSON.');
      }
      const model = isObject(body) && isObject(body.bidiGenerateContentSetup) && typeof body.bidiGenerateContentSetup.model === 'string' ? body.bidiGenerateContentSetup.model.replace(/^models\//, '') : null;
      const s = principal.scopes;
      if (s.models || s.endpoints || s.cidrs) {
        const denied = scopeViolation(compileScopes(s), { endpoint: 'auth_tokens', model, address: deps.clientAddress(incoming) });
        if (denied) throw new GatewayError('permission_denied', denied);
      }
      return c.json(deps.tokens.create(principal, body, requestId), 200);
    } catch (err) {
      const ge = toGatewayError(err);
      status = ge.status;
      return c.body(renderError(ge, 'google'), ge.status as 400, { 'content-type': 'application/json; charset=UTF-8', ...ge.options.headers });
    } finally {
      if (principal) record(deps, principal, requestId, c.req.param('version'), status, startedAt);
    }
  });
  return app;
}

function record(deps: TokenAppDeps, p: Principal, requestId: string, apiVersion: string, status: number, startedAt: number): void {
  const latencyMs = Math.round(performance.now() - startedAt);
  deps.recorder.record({
    createdAt: deps.clock.now(), requestId, tenantId: p.tenantId, projectId: p.projectId, keyId: p.keyId, upstreamKeyId: null,
    method: 'POST', apiVersion, endpoint: 'auth_tokens', model: null, stream: 0, status, outcome: status === 200 ? 'ok' : 'gateway_error',
    usage: null, ttfbMs: null, latencyMs, bytesIn: 0, bytesOut: 0,
  });
  deps.log.info({ requestId, tenant: p.tenantSlug, project: p.projectSlug, keyPrefix: p.keyPrefix, endpoint: 'auth_tokens', status, ms: latencyMs }, 'request completed');
}
