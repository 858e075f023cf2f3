import type { RegisterAdminRoutes } from './types.js';
import { registerAuditRoutes } from './audit.js';
import { registerDocsRoutes } from './docs.js';
import { registerKeyPoolRoutes } from './key-pool.js';
import { registerKeyRoutes } from './keys.js';
import { registerLimitRoutes } from './limits.js';
import { registerPriceRoutes } from './prices.js';
import { registerProjectRoutes } from './projects.js';
import { registerResourceRoutes } from './resources.js';
import { registerTenantRoutes } from './tenants.js';
import { registerUpstreamKeyRoutes } from './upstream-keys.js';
import { registerUsageRoutes } from './usage.js';

export const ADMIN_ROUTES: RegisterAdminRoutes[] = [
  registerTenantRoutes,
  registerProjectRoutes,
  registerKeyRoutes,
  registerUpstreamKeyRoutes,
  registerLimitRoutes,
  registerAuditRoutes,
  registerDocsRoutes,
  registerResourceRoutes,
  registerKeyPoolRoutes,
  registerUsageRoutes,
  registerPriceRoutes,
];
