import { createRoute, z } from '@hono/zod-openapi';
import { createProject, deleteProject, getProject, listProjects, setProjectDisabled, updateProject } from '../accounts/projects.js';
import { ContainerStatus, ProjectCreate, ProjectUpdate, ProjectView, idParam } from '../accounts/schemas.js';
import type { RegisterAdminRoutes } from './routes.js';
import { labelQuery, pageOf, pageQuery } from './pagination.js';
import { accountsOf, body, errors, json, operatorOf, registerLifecycleRoutes } from './routing.js';

const tag = 'Projects';
const base = '/admin/v1/projects';

/** Projects within tenants: create, list, get, update (incl. which upstream key), disable/enable, delete. */
export const registerProjectRoutes: RegisterAdminRoutes = (app, deps) => {
  app.openapi(
    createRoute({
      method: 'post', path: base, tags: [tag], summary: 'Create a project in a tenant',
      request: { body: body(ProjectCreate) }, responses: { 201: json(ProjectView, 'The project'), ...errors(404, 409, 422) },
    }),
    (c) => c.json(createProject(operatorOf(c, deps), c.req.valid('json')), 201),
  );
  app.openapi(
    createRoute({
      method: 'get', path: base, tags: [tag], summary: 'List projects, newest first',
      request: { query: z.object({ ...pageQuery, tenantId: z.string().optional().openapi({ description: 'Tenant id or slug' }), status: ContainerStatus.optional(), label: labelQuery }) },
      responses: { 200: json(pageOf(ProjectView), 'A page of projects'), ...errors(404) },
    }),
    (c) => c.json(listProjects(accountsOf(deps), c.req.valid('query')), 200),
  );
  app.openapi(
    createRoute({
      method: 'patch', path: `${base}/{id}`, tags: [tag], summary: 'Update name, labels or upstream key',
      request: { params: idParam, body: body(ProjectUpdate) }, responses: { 200: json(ProjectView, 'The project'), ...errors(404, 422) },
    }),
    (c) => c.json(updateProject(operatorOf(c, deps), c.req.valid('param').id, c.req.valid('json')), 200),
  );
  registerLifecycleRoutes(app, deps, {
    base, tag, noun: 'project', schema: ProjectView, get: getProject, remove: deleteProject,
    actions: { disable: (op, id) => setProjectDisabled(op, id, true), enable: (op, id) => setProjectDisabled(op, id, false) },
  });
};
