import { GatewayError } from '../errors.js';
import type { ClientAddress } from '../auth/client-address.js';
import { requestJson, type ProxyContext, type ProxyStage } from '../exchange/stage.js';
import type { Principal } from '../exchange/principal.js';
import { compileScopes, scopeViolation, type CompiledScopes } from './scopes.js';

/**
 * Refuses requests outside the key's scopes (source network, endpoint family, model) with 403
 * PERMISSION_DENIED before anything is forwarded. Matchers are compiled once per resolved principal:
 * the key resolver hands out a new principal object whenever the key row is re-read, so a scope
 * change is picked up with it.
 */
export function createScopeStage(clientAddress: ClientAddress = (i) => i.socket?.remoteAddress ?? ''): ProxyStage {
  const compiled = new WeakMap<Principal, CompiledScopes>();
  return {
    name: 'scopes',
    before(ctx) {
      const { principal } = ctx;
      const s = principal.scopes;
      if (!s.models && !s.endpoints && !s.cidrs) return;
      let c = compiled.get(principal);
      if (!c) compiled.set(principal, (c = compileScopes(s)));
      // A context cache names its model in the body, and its storage is billed at that model's rate:
      // a key may not create one for a model it may not call (read only for model-scoped keys).
      const creatingCache = c.models !== null && ctx.what.family === 'cache';
      const model = creatingCache ? bodyModel(ctx) : ctx.model;
      const denied = scopeViolation(c, { endpoint: ctx.what.endpoint, model, address: clientAddress(ctx.incoming), needsModel: creatingCache });
      if (denied) throw new GatewayError('permission_denied', denied);
    },
  };
}

function bodyModel(ctx: ProxyContext): string | null {
  const m = (requestJson(ctx) as { model?: unknown } | null)?.model;
  return typeof m === 'string' ? m.replace(/^models\//, '') : null;
}
