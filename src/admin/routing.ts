import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AccountsDeps, Operator } from '../accounts/context.js';
import { idParam } from '../accounts/schemas.js';
import type { AppDeps, AppEnv } from '../app.js';
import { createSecretBox } from '../crypto/secret-box.js';
import type { AdminApp } from './app.js';

/** Shared pieces of the resource modules' route definitions, so each module only says what is its own. */

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

const accountsByDeps = new WeakMap<AppDeps, AccountsDeps>();

/** The account services' dependencies for this gateway, built once. */
export function accountsOf(deps: AppDeps): AccountsDeps {
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
export function operatorOf(c: Context<AppEnv>, deps: AppDeps): Operator {
  return { ...accountsOf(deps), actor: 'admin-token', requestId: c.get('requestId') };
}

type Verb = 'disable' | 'enable' | 'revoke';

export interface LifecycleRoutes<V> {
  /** Path of the collection, e.g. /admin/v1/tenants. */
  base: string;
  tag: string;
  noun: string;
  schema: z.ZodType<V>;
  get(deps: AccountsDeps, id: string): V;
  remove(op: Operator, id: string): V;
  actions: Partial<Record<Verb, (op: Operator, id: string) => V>>;
}

const VERB_TEXT: Record<Verb, string> = {
  disable: 'Disable (reversible): stops working on the next request',
  enable: 'Enable again',
  revoke: 'Revoke (final): stops working on the next request',
};

/** GET /{id}, DELETE /{id} and POST /{id}/{verb}: the same shape for every resource. */
export function registerLifecycleRoutes<V>(app: AdminApp, deps: AppDeps, r: LifecycleRoutes<V>): void {
  const one = `${r.base}/{id}`;
  const ok = json(r.schema, `The ${r.noun}`);
  app.openapi(
    createRoute({ method: 'get', path: one, tags: [r.tag], summary: `Get a ${r.noun}`, request: { params: idParam }, responses: { 200: ok, ...errors(404) } }),
    (c) => c.json(r.get(accountsOf(deps), c.req.valid('param').id) as never, 200),
  );
  app.openapi(
    createRoute({
      method: 'delete', path: one, tags: [r.tag], summary: `Delete a ${r.noun} (soft delete; history stays)`,
      request: { params: idParam }, responses: { 200: json(r.schema, `The deleted ${r.noun}`), ...errors(404, 422) },
    }),
    (c) => c.json(r.remove(operatorOf(c, deps), c.req.valid('param').id) as never, 200),
  );
  for (const [verb, fn] of Object.entries(r.actions) as Array<[Verb, (op: Operator, id: string) => V]>) {
    app.openapi(
      createRoute({
        method: 'post', path: `${one}/${verb}`, tags: [r.tag], summary: `${VERB_TEXT[verb]} (${r.noun})`,
        request: { params: idParam }, responses: { 200: ok, ...errors(404, 422) },
      }),
      (c) => c.json(fn(operatorOf(c, deps), c.req.valid('param').id) as never, 200),
    );
  }
}
