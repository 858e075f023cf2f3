import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AccountsDeps, Operator } from '../accounts/context.js';
import type { AppEnv } from '../deps.js';
import type { AdminDeps } from './types.js';
import { createSecretBox } from '../crypto/secret-box.js';

/** Shared pieces of the admin modules' route definitions, so each module only says what is its own. */

export const ErrorBody = z
  .object({ error: z.object({ code: z.string(), message: z.string(), requestId: z.string().optional() }) })
  .openapi('Error');

const ERROR_TEXT: Record<number, string> = {
  400: 'Invalid request (validation failed)',
  401: 'Missing or wrong admin token',
  404: 'No such object',
  409: 'Conflict (duplicate slug, already rotated)',
  422: 'Not possible in its current state',
  503: 'Admin API disabled (ADMIN_TOKEN unset)',
};

/** Error responses every admin route may give, plus the ones named. */
export function errors(...codes: number[]) {
  const all = [...new Set([400, 401, 503, ...codes])].sort();
  return Object.fromEntries(all.map((code) => [code, { description: ERROR_TEXT[code] ?? 'Error', content: { 'application/json': { schema: ErrorBody } } }]));
}

export function json<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { 'application/json': { schema } } };
}

export function body<T extends z.ZodType>(schema: T) {
  return { required: true, content: { 'application/json': { schema } } };
}

const accountsByDeps = new WeakMap<AdminDeps, AccountsDeps>();

/** The account services' dependencies for this gateway, built once. */
export function accountsOf(deps: AdminDeps): AccountsDeps {
  let a = accountsByDeps.get(deps);
  if (!a) {
    const box = deps.config.GATEWAY_SECRET ? createSecretBox(deps.config.GATEWAY_SECRET) : null;
    // Admin writes share the gateway's connection, so SQLite's data_version does not move: tell the resolver.
    a = { db: deps.db, clock: deps.clock, box, onChange: () => deps.keys.invalidate() };
    accountsByDeps.set(deps, a);
  }
  return a;
}

/** The caller of an admin mutation, for the audit log: the admin token (there is only one). */
export function operatorOf(c: Context<AppEnv>, deps: AdminDeps): Operator {
  return { ...accountsOf(deps), actor: 'admin-token', requestId: c.get('requestId') };
}
