import { createRoute, z } from '@hono/zod-openapi';
import { IssuedKey, KeyCreate, KeyRotate, KeyStatus, KeyUpdate, KeyView } from '../accounts/key-schemas.js';
import { createKey, deleteKey, getKey, listKeys, revokeKey, rotateKey, setKeyDisabled, updateKey } from '../accounts/keys.js';
import { idParam } from '../accounts/schemas.js';
import { registerCrudRoutes } from './crud-routes.js';
import type { RegisterAdminRoutes } from './types.js';
import { errors, json, operatorOf } from './routing.js';

/** The owner filters of every list, named and resolved as in /admin/v1/usage. */
export const ownerFilters = {
  tenant: z.string().min(1).optional().openapi({ description: 'Tenant id (ten_…) or slug' }),
  project: z.string().min(1).optional().openapi({ description: 'Project id (prj_…) or slug (within `tenant` when given)' }),
};

/** Gateway keys: the secret appears only in the create and rotate responses. */
export const registerKeyRoutes: RegisterAdminRoutes = (app, deps) => {
  registerCrudRoutes(app, deps, {
    base: '/admin/v1/keys',
    tag: 'Keys',
    noun: 'key',
    schema: KeyView,
    create: { body: KeyCreate, response: IssuedKey, summary: 'Create a key (the secret is returned once)', errors: [404, 422], run: createKey },
    list: { filters: { ...ownerFilters, status: KeyStatus.optional() }, run: listKeys },
    update: { body: KeyUpdate, summary: 'Update name, labels, scopes or expiry (effective on the next request)', run: updateKey },
    get: getKey,
    remove: deleteKey,
    actions: { disable: (op, id) => setKeyDisabled(op, id, true), enable: (op, id) => setKeyDisabled(op, id, false), revoke: revokeKey },
  });
  app.openapi(
    createRoute({
      method: 'post', path: '/admin/v1/keys/{id}/rotate', tags: ['Keys'], summary: 'Rotate: a new secret now, the old one keeps working for the overlap window',
      request: { params: idParam, body: { required: false, content: { 'application/json': { schema: KeyRotate } } } },
      responses: { 200: json(IssuedKey, 'The replacement key and its secret'), ...errors(404, 409, 422) },
    }),
    async (c) => {
      const issued = await rotateKey(operatorOf(c, deps), c.req.valid('param').id, c.req.valid('json').overlapSeconds);
      // The replacement may have been given the old key's quota rules: the next request must see them.
      await deps.quotas.reload();
      return c.json(issued, 200);
    },
  );
};
