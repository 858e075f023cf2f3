import { createRoute } from '@hono/zod-openapi';
import { UpstreamKeyCreate, UpstreamKeyRotate, UpstreamKeyStatus, UpstreamKeyUpdate, UpstreamKeyView } from '../accounts/key-schemas.js';
import { idParam } from '../accounts/schemas.js';
import {
  createUpstreamKey, deleteUpstreamKey, getUpstreamKey, listUpstreamKeys, revokeUpstreamKey, rotateUpstreamKey, setUpstreamKeyDisabled, updateUpstreamKey,
} from '../accounts/upstream-keys.js';
import { ownerFilters } from './keys.js';
import { registerCrudRoutes } from './crud-routes.js';
import type { RegisterAdminRoutes } from './types.js';
import { body, errors, json, operatorOf } from './routing.js';

/** A project's own Gemini keys (bring your own key): stored encrypted, only ever shown as a fingerprint. */
export const registerUpstreamKeyRoutes: RegisterAdminRoutes = (app, deps) => {
  registerCrudRoutes(app, deps, {
    base: '/admin/v1/upstream-keys',
    tag: 'Upstream keys',
    noun: 'upstream key',
    schema: UpstreamKeyView,
    create: { body: UpstreamKeyCreate, summary: "Store a project's own Gemini key (needs GATEWAY_SECRET)", errors: [404, 422], run: createUpstreamKey },
    list: { filters: { ...ownerFilters, status: UpstreamKeyStatus.optional() }, run: listUpstreamKeys },
    update: { body: UpstreamKeyUpdate, summary: 'Update name or labels', run: updateUpstreamKey },
    get: getUpstreamKey,
    remove: deleteUpstreamKey,
    actions: { disable: (op, id) => setUpstreamKeyDisabled(op, id, true), enable: (op, id) => setUpstreamKeyDisabled(op, id, false), revoke: revokeUpstreamKey },
  });
  app.openapi(
    createRoute({
      method: 'post', path: '/admin/v1/upstream-keys/{id}/rotate', tags: ['Upstream keys'], summary: 'Replace with a new secret (new id; the old one is revoked)',
      request: { params: idParam, body: body(UpstreamKeyRotate) }, responses: { 200: json(UpstreamKeyView, 'The replacement'), ...errors(404, 422) },
    }),
    async (c) => c.json(await rotateUpstreamKey(operatorOf(c, deps), c.req.valid('param').id, c.req.valid('json').secret), 200),
  );
};
