import { createProject, deleteProject, getProject, listProjects, setProjectDisabled, updateProject } from '../accounts/projects.js';
import { ContainerStatus, ProjectCreate, ProjectUpdate, ProjectView } from '../accounts/schemas.js';
import { ownerFilters } from './keys.js';
import { registerCrudRoutes } from './crud-routes.js';
import type { RegisterAdminRoutes } from './types.js';

/** Projects within tenants: create, list, get, update (incl. which upstream key), disable/enable, delete. */
export const registerProjectRoutes: RegisterAdminRoutes = (app, deps) =>
  registerCrudRoutes(app, deps, {
    base: '/admin/v1/projects',
    tag: 'Projects',
    noun: 'project',
    schema: ProjectView,
    create: { body: ProjectCreate, summary: 'Create a project in a tenant', errors: [404, 409, 422], run: createProject },
    list: { filters: { tenant: ownerFilters.tenant, status: ContainerStatus.optional() }, run: listProjects },
    update: { body: ProjectUpdate, summary: 'Update name, labels or upstream key', run: updateProject },
    get: getProject,
    remove: deleteProject,
    actions: { disable: (op, id) => setProjectDisabled(op, id, true), enable: (op, id) => setProjectDisabled(op, id, false) },
  });
