import { createRoute, z } from '@hono/zod-openapi';
import { UpstreamKeyCreate, UpstreamKeyRotate, UpstreamKeyStatus, UpstreamKeyUpdate, UpstreamKeyView } from '../accounts/key-schemas.js';
import { idParam } from '../accounts/schemas.js';
import {
  createUpstreamKey, deleteUpstreamKey, getUpstreamKey, listUpstreamKeys, revokeUpstreamKey, rotateUpstreamKey, setUpstreamKeyDisabled, updateUpstreamKey,
} from '../accounts/upstream-keys.js';
import type { RegisterAdminRoutes } from './routes.js';
import { labelQuery, pageOf, pageQuery } from './pagination.js';
import { accountsOf, body, errors, json, operatorOf, registerLifecycleRoutes } from './routing.js';

const tag = 'Upstream keys';
const base = '/admin/v1/upstream-keys';

/** A project's own Gemini keys (bring your own key): stored encrypted, only ever shown as a fingerprint. */
export const registerUpstreamKeyRoutes: RegisterAdminRoutes = (app, deps) => {
  app.openapi(
    createRoute({
      method: 'post', path: base, tags: [tag], summary: "Store a project's own Gemini key (needs GATEWAY_SECRET)",
      request: { body: body(UpstreamKeyCreate) }, responses: { 201: json(UpstreamKeyView, 'The stored key (fingerprint only)'), ...errors(404, 422) },
    }),
    (c) => c.json(createUpstreamKey(operatorOf(c, deps), c.req.valid('json')), 201),
  );
  app.openapi(
    createRoute({
      method: 'get', path: base, tags: [tag], summary: 'List upstream keys, newest first',
      request: {
        query: z.object({
          ...pageQuery,
          projectId: z.string().optional(),
          tenantId: z.string().optional().openapi({ description: 'Tenant id or slug' }),
          status: UpstreamKeyStatus.optional(),
          label: labelQuery,
        }),
      },
      responses: { 200: json(pageOf(UpstreamKeyView), 'A page of upstream keys'), ...errors(404) },
    }),
    (c) => c.json(listUpstreamKeys(accountsOf(deps), c.req.valid('query')), 200),
  );
  app.openapi(
    createRoute({
      method: 'patch', path: `${base}/{id}`, tags: [tag], summary: 'Update name or labels',
      request: { params: idParam, body: body(UpstreamKeyUpdate) }, responses: { 200: json(UpstreamKeyView, 'The upstream key'), ...errors(404, 422) },
    }),
    (c) => c.json(updateUpstreamKey(operatorOf(c, deps), c.req.valid('param').id, c.req.valid('json')), 200),
  );
  app.openapi(
    createRoute({
      method: 'post', path: `${base}/{id}/rotate`, tags: [tag], summary: 'Replace with a new secret (new id; the old one is revoked)',
      request: { params: idParam, body: body(UpstreamKeyRotate) }, responses: { 200: json(UpstreamKeyView, 'The replacement'), ...errors(404, 422) },
    }),
    (c) => c.json(rotateUpstreamKey(operatorOf(c, deps), c.req.valid('param').id, c.req.valid('json').secret), 200),
  );
  registerLifecycleRoutes(app, deps, {
    base, tag, noun: 'upstream key', schema: UpstreamKeyView, get: getUpstreamKey, remove: deleteUpstreamKey,
    actions: { disable: (op, id) => setUpstreamKeyDisabled(op, id, true), enable: (op, id) => setUpstreamKeyDisabled(op, id, false), revoke: revokeUpstreamKey },
  });
};
