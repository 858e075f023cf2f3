import type { ClientAddress } from './client-address.js';
import type { IncomingMessage } from 'node:http';
import { GatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import { sourceId, type AuthThrottle } from './throttle.js';
import { extractTenantKey } from './tenant-key.js';
import type { KeyResolver } from './key-resolver.js';
import type { AuthFailure, Principal } from '../exchange/principal.js';

const AUTH_MESSAGES: Record<AuthFailure, string> = {
  missing: 'Missing API key. Send your gateway key as x-goog-api-key.',
  unknown: 'API key not valid. Please pass a valid gateway API key.',
  revoked: 'API key has been revoked.',
  expired: 'API key has expired.',
  disabled: 'API key is disabled, or its project or tenant is disabled or deleted.',
};

/**
 * Resolves the tenant key from `x-goog-api-key`, `?key=` or `Authorization: Bearer` — the data plane
 * and the self-service endpoints authenticate the same way. Returns the query string without `key`.
 */
async function authenticateTenant(keys: KeyResolver, rawHeaders: string[], search: string): Promise<{ principal: Principal; search: string }> {
  const found = extractTenantKey(rawHeaders, search);
  // A key the gateway has never seen needs the database; while that is away the caller should retry, not report a bug.
  let auth: Awaited<ReturnType<KeyResolver['resolve']>>;
  try {
    auth = await keys.resolve(found.key);
  } catch {
    throw new GatewayError('unavailable', 'The gateway cannot check this API key right now; retry shortly.', { headers: { 'retry-after': '1' } });
  }
  if (!auth.ok) throw new GatewayError('unauthenticated', AUTH_MESSAGES[auth.reason]);
  return { principal: auth.principal, search: found.search };
}

export type TenantAuthenticate = (incoming: IncomingMessage, search: string) => Promise<{ principal: Principal; search: string }>;

/**
 * Tenant authentication as every surface that takes a tenant key uses it (the data plane and the
 * /gateway/v1 self-service endpoints): refused outright while the source address is throttled, and
 * every failed key check counted against that address, so no surface is a side door for guessing keys.
 */
export function createTenantAuth(keys: KeyResolver, throttle: AuthThrottle, log: Logger, limit: number, clientAddress: ClientAddress = (i) => i.socket?.remoteAddress ?? ''): TenantAuthenticate {
  return async (incoming, search) => {
    const address = clientAddress(incoming);
    const wait = throttle.retryAfter(address);
    if (wait > 0) {
      throw new GatewayError('resource_exhausted', 'Too many failed authentication attempts from this address; retry later.', { headers: { 'retry-after': String(wait) } });
    }
    try {
      // Valid, invalid and malformed keys take the same path: hash, then one cached lookup.
      return await authenticateTenant(keys, incoming.rawHeaders, search);
    } catch (err) {
      if (err instanceof GatewayError && err.code === 'unauthenticated' && throttle.fail(address)) {
        log.warn({ source: sourceId(address), limit }, 'too many failed authentications; source throttled');
      }
      throw err;
    }
  };
}
