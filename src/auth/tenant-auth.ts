import { GatewayError } from '../errors.js';
import { extractTenantKey } from '../proxy/headers.js';
import type { KeyResolver } from './key-resolver.js';
import type { AuthFailure, Principal } from './principal.js';

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
export function authenticateTenant(keys: KeyResolver, rawHeaders: string[], search: string): { principal: Principal; search: string } {
  const found = extractTenantKey(rawHeaders, search);
  const auth = keys.resolve(found.key);
  if (!auth.ok) throw new GatewayError('unauthenticated', AUTH_MESSAGES[auth.reason]);
  return { principal: auth.principal, search: found.search };
}
