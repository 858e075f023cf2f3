import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { GatewayError } from '../errors.js';

/**
 * Bearer ADMIN_TOKEN, compared in constant time (both sides hashed first so lengths match).
 * Unset token → every admin route answers 503 saying how to enable it, rather than being open.
 */
export function adminAuth(token: string | undefined): MiddlewareHandler {
  const expected = token ? createHash('sha256').update(token).digest() : null;
  return async function adminAuthMiddleware(c, next) {
    if (!expected) throw new GatewayError('unavailable', 'The admin API is disabled. Set ADMIN_TOKEN (at least 16 characters) and restart the gateway.');
    const m = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '');
    const given = createHash('sha256').update(m?.[1] ?? '').digest();
    if (!m || !timingSafeEqual(given, expected)) throw new GatewayError('unauthenticated', 'Missing or invalid admin token (Authorization: Bearer <ADMIN_TOKEN>).');
    await next();
  };
}
