import { registerResourceRoutes } from './resources.js';
import type { AppDeps } from '../app.js';
import type { AdminApp } from './app.js';
import { registerAuditRoutes } from './audit.js';
import { registerDocsRoutes } from './docs.js';
import { registerKeyRoutes } from './keys.js';
import { registerProjectRoutes } from './projects.js';
import { registerTenantRoutes } from './tenants.js';
import { registerUpstreamKeyRoutes } from './upstream-keys.js';

/** One registration function per admin resource module (tenants, projects, keys, limits, usage…). */
export type RegisterAdminRoutes = (app: AdminApp, deps: AppDeps) => void;

export const ADMIN_ROUTES: RegisterAdminRoutes[] = [
  registerTenantRoutes,
  registerProjectRoutes,
  registerKeyRoutes,
  registerUpstreamKeyRoutes,
  registerAuditRoutes,
  registerDocsRoutes,
  registerResourceRoutes,
];
