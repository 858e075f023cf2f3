import { createRoute, z } from '@hono/zod-openapi';
import type { AccountsDeps, Operator } from '../accounts/context.js';
import { idParam } from '../accounts/schemas.js';
import type { AdminApp, AdminDeps } from './types.js';
import type { Page } from '../db/pagination.js';
import { pageOf } from '../db/pagination.js';
import { labelQuery, pageQuery } from './list-query.js';
import { accountsOf, body, errors, json, operatorOf } from './routing.js';

type Verb = 'disable' | 'enable' | 'revoke';

/** Everything the standard routes of one collection (tenants, projects, keys…) need; each module is one of these plus its extras. */
export interface CrudRoutes<V> {
  /** Path of the collection, e.g. /admin/v1/tenants. */
  base: string;
  tag: string;
  noun: string;
  schema: z.ZodType<V>;
  create: { body: z.ZodType; response?: z.ZodType; summary?: string; errors: number[]; run(op: Operator, input: any): unknown };
  /** Filters besides cursor/limit/label: parents and status. */
  list: { filters: Record<string, z.ZodType>; run(deps: AccountsDeps, q: any): Promise<Page<V>> };
  update: { body: z.ZodType; summary: string; run(op: Operator, id: string, patch: any): Promise<V> };
  get(deps: AccountsDeps, id: string): Promise<V>;
  remove(op: Operator, id: string): Promise<V>;
  actions: Partial<Record<Verb, (op: Operator, id: string) => Promise<V>>>;
}

const VERB_TEXT: Record<Verb, string> = {
  disable: 'Disable (reversible): stops working on the next request',
  enable: 'Enable again',
  revoke: 'Revoke (final): stops working on the next request',
};

/**
 * POST / (201), GET / (a page), GET /{id}, PATCH /{id}, DELETE /{id} and POST /{id}/{verb}: the
 * same shape for every collection, documented from the collection's own zod schemas.
 */
export function registerCrudRoutes<V>(app: AdminApp, deps: AdminDeps, r: CrudRoutes<V>): void {
  const one = `${r.base}/{id}`;
  const ok = json(r.schema, `The ${r.noun}`);
  const tags = [r.tag];

  app.openapi(
    createRoute({
      method: 'post', path: r.base, tags, summary: r.create.summary ?? `Create a ${r.noun}`,
      request: { body: body(r.create.body) }, responses: { 201: json(r.create.response ?? r.schema, `The new ${r.noun}`), ...errors(...r.create.errors) },
    }),
    async (c) => c.json(await r.create.run(operatorOf(c, deps), c.req.valid('json')) as never, 201),
  );
  app.openapi(
    createRoute({
      method: 'get', path: r.base, tags, summary: `List ${r.noun}s, newest first`,
      request: { query: z.object({ ...pageQuery, ...r.list.filters, label: labelQuery }) }, responses: { 200: json(pageOf(r.schema), `A page of ${r.noun}s`), ...errors(404) },
    }),
    async (c) => c.json(await r.list.run(accountsOf(deps), c.req.valid('query')) as never, 200),
  );
  app.openapi(
    createRoute({ method: 'get', path: one, tags, summary: `Get a ${r.noun}`, request: { params: idParam }, responses: { 200: ok, ...errors(404) } }),
    async (c) => c.json(await r.get(accountsOf(deps), c.req.valid('param').id) as never, 200),
  );
  app.openapi(
    createRoute({
      method: 'patch', path: one, tags, summary: r.update.summary,
      request: { params: idParam, body: body(r.update.body) }, responses: { 200: ok, ...errors(404, 422) },
    }),
    async (c) => c.json(await r.update.run(operatorOf(c, deps), c.req.valid('param').id, c.req.valid('json')) as never, 200),
  );
  app.openapi(
    createRoute({
      method: 'delete', path: one, tags, summary: `Delete a ${r.noun} (soft delete; history stays)`,
      request: { params: idParam }, responses: { 200: json(r.schema, `The deleted ${r.noun}`), ...errors(404, 422) },
    }),
    async (c) => c.json(await r.remove(operatorOf(c, deps), c.req.valid('param').id) as never, 200),
  );
  for (const [verb, fn] of Object.entries(r.actions) as Array<[Verb, (op: Operator, id: string) => Promise<V>]>) {
    app.openapi(
      createRoute({
        method: 'post', path: `${one}/${verb}`, tags, summary: `${VERB_TEXT[verb]} (${r.noun})`,
        request: { params: idParam }, responses: { 200: ok, ...errors(404, 422) },
      }),
      async (c) => c.json(await fn(operatorOf(c, deps), c.req.valid('param').id) as never, 200),
    );
  }
}
