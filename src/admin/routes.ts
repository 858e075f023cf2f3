import type { AppDeps } from '../app.js';
import type { AdminApp } from './app.js';
import { registerLimitRoutes } from './limits.js';

/** One registration function per admin resource module (tenants, projects, keys, limits, usage…). */
export type RegisterAdminRoutes = (app: AdminApp, deps: AppDeps) => void;

export const ADMIN_ROUTES: RegisterAdminRoutes[] = [registerLimitRoutes];
