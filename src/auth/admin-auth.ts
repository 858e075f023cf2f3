import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { GatewayError } from '../errors.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest();

/**
 * Bearer token check against any of `tokens`, compared in constant time (both sides hashed first
 * so lengths match). No token configured → 503 saying how to enable the surface, rather than open.
 */
export function bearerAuth(tokens: (string | undefined)[], messages: { disabled: string; invalid: string }): MiddlewareHandler {
  const expected = tokens.filter((t): t is string => Boolean(t)).map(sha256);
  return async function bearerAuthMiddleware(c, next) {
    if (expected.length === 0) throw new GatewayError('unavailable', messages.disabled);
    const m = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '');
    const given = sha256(m?.[1] ?? '');
    // Check every token (no early exit) so timing does not tell which one matched.
    const ok = expected.reduce((acc, e) => timingSafeEqual(given, e) || acc, false);
    if (!m || !ok) throw new GatewayError('unauthenticated', messages.invalid);
    await next();
  };
}

/** Bearer ADMIN_TOKEN; unset token → every admin route answers 503 saying how to enable it. */
export function adminAuth(token: string | undefined): MiddlewareHandler {
  return bearerAuth([token], {
    disabled: 'The admin API is disabled. Set ADMIN_TOKEN (at least 16 characters) and restart the gateway.',
    invalid: 'Missing or invalid admin token (Authorization: Bearer <ADMIN_TOKEN>).',
  });
}
