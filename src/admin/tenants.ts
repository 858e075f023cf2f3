import { createRoute, z } from '@hono/zod-openapi';
import { ContainerStatus, TenantCreate, TenantUpdate, TenantView, idParam } from '../accounts/schemas.js';
import { createTenant, deleteTenant, getTenant, listTenants, setTenantDisabled, updateTenant } from '../accounts/tenants.js';
import type { RegisterAdminRoutes } from './routes.js';
import { labelQuery, pageOf, pageQuery } from './pagination.js';
import { accountsOf, body, errors, json, operatorOf, registerLifecycleRoutes } from './routing.js';

const tag = 'Tenants';
const base = '/admin/v1/tenants';

/** Tenants (teams): create, list, get, update, disable/enable, delete. */
export const registerTenantRoutes: RegisterAdminRoutes = (app, deps) => {
  app.openapi(
    createRoute({ method: 'post', path: base, tags: [tag], summary: 'Create a tenant', request: { body: body(TenantCreate) }, responses: { 201: json(TenantView, 'The tenant'), ...errors(409) } }),
    (c) => c.json(createTenant(operatorOf(c, deps), c.req.valid('json')), 201),
  );
  app.openapi(
    createRoute({
      method: 'get', path: base, tags: [tag], summary: 'List tenants, newest first',
      request: { query: z.object({ ...pageQuery, status: ContainerStatus.optional(), label: labelQuery }) },
      responses: { 200: json(pageOf(TenantView), 'A page of tenants'), ...errors() },
    }),
    (c) => c.json(listTenants(accountsOf(deps), c.req.valid('query')), 200),
  );
  app.openapi(
    createRoute({
      method: 'patch', path: `${base}/{id}`, tags: [tag], summary: 'Update name or labels (id or slug)',
      request: { params: idParam, body: body(TenantUpdate) }, responses: { 200: json(TenantView, 'The tenant'), ...errors(404, 422) },
    }),
    (c) => c.json(updateTenant(operatorOf(c, deps), c.req.valid('param').id, c.req.valid('json')), 200),
  );
  registerLifecycleRoutes(app, deps, {
    base, tag, noun: 'tenant', schema: TenantView, get: getTenant, remove: deleteTenant,
    actions: { disable: (op, id) => setTenantDisabled(op, id, true), enable: (op, id) => setTenantDisabled(op, id, false) },
  });
};
