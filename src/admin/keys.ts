import { createRoute, z } from '@hono/zod-openapi';
import { IssuedKey, KeyCreate, KeyRotate, KeyStatus, KeyUpdate, KeyView } from '../accounts/key-schemas.js';
import { createKey, deleteKey, getKey, listKeys, revokeKey, rotateKey, setKeyDisabled, updateKey } from '../accounts/keys.js';
import { idParam } from '../accounts/schemas.js';
import type { RegisterAdminRoutes } from './routes.js';
import { labelQuery, pageOf, pageQuery } from './pagination.js';
import { accountsOf, body, errors, json, operatorOf, registerLifecycleRoutes } from './routing.js';

const tag = 'Keys';
const base = '/admin/v1/keys';

/** Gateway keys: the secret appears only in the create and rotate responses. */
export const registerKeyRoutes: RegisterAdminRoutes = (app, deps) => {
  app.openapi(
    createRoute({
      method: 'post', path: base, tags: [tag], summary: 'Create a key (the secret is returned once)',
      request: { body: body(KeyCreate) }, responses: { 201: json(IssuedKey, 'The key and its secret'), ...errors(404, 422) },
    }),
    (c) => c.json(createKey(operatorOf(c, deps), c.req.valid('json')), 201),
  );
  app.openapi(
    createRoute({
      method: 'get', path: base, tags: [tag], summary: 'List keys, newest first',
      request: {
        query: z.object({
          ...pageQuery,
          projectId: z.string().optional(),
          tenantId: z.string().optional().openapi({ description: 'Tenant id or slug' }),
          status: KeyStatus.optional(),
          label: labelQuery,
        }),
      },
      responses: { 200: json(pageOf(KeyView), 'A page of keys'), ...errors(404) },
    }),
    (c) => c.json(listKeys(accountsOf(deps), c.req.valid('query')), 200),
  );
  app.openapi(
    createRoute({
      method: 'patch', path: `${base}/{id}`, tags: [tag], summary: 'Update name, labels, scopes or expiry (effective on the next request)',
      request: { params: idParam, body: body(KeyUpdate) }, responses: { 200: json(KeyView, 'The key'), ...errors(404, 422) },
    }),
    (c) => c.json(updateKey(operatorOf(c, deps), c.req.valid('param').id, c.req.valid('json')), 200),
  );
  app.openapi(
    createRoute({
      method: 'post', path: `${base}/{id}/rotate`, tags: [tag], summary: 'Rotate: a new secret now, the old one keeps working for the overlap window',
      request: { params: idParam, body: { required: false, content: { 'application/json': { schema: KeyRotate } } } },
      responses: { 200: json(IssuedKey, 'The replacement key and its secret'), ...errors(404, 409, 422) },
    }),
    (c) => c.json(rotateKey(operatorOf(c, deps), c.req.valid('param').id, c.req.valid('json').overlapSeconds), 200),
  );
  registerLifecycleRoutes(app, deps, {
    base, tag, noun: 'key', schema: KeyView, get: getKey, remove: deleteKey,
    actions: { disable: (op, id) => setKeyDisabled(op, id, true), enable: (op, id) => setKeyDisabled(op, id, false), revoke: revokeKey },
  });
};
