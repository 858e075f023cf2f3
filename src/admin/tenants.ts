import { ContainerStatus, TenantCreate, TenantUpdate, TenantView } from '../accounts/schemas.js';
import { createTenant, deleteTenant, getTenant, listTenants, setTenantDisabled, updateTenant } from '../accounts/tenants.js';
import { registerCrudRoutes } from './crud-routes.js';
import type { RegisterAdminRoutes } from './types.js';

/** Tenants (teams): create, list, get, update, disable/enable, delete. `{id}` also accepts the slug. */
export const registerTenantRoutes: RegisterAdminRoutes = (app, deps) =>
  registerCrudRoutes(app, deps, {
    base: '/admin/v1/tenants',
    tag: 'Tenants',
    noun: 'tenant',
    schema: TenantView,
    create: { body: TenantCreate, errors: [409], run: createTenant },
    list: { filters: { status: ContainerStatus.optional() }, run: listTenants },
    update: { body: TenantUpdate, summary: 'Update name or labels', run: updateTenant },
    get: getTenant,
    remove: deleteTenant,
    actions: { disable: (op, id) => setTenantDisabled(op, id, true), enable: (op, id) => setTenantDisabled(op, id, false) },
  });
