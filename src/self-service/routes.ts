import { registerSelfServiceQuota } from './quota.js';
import type { RegisterSelfServiceRoutes } from './types.js';
import { registerSelfServiceUsage } from './usage.js';

export const SELF_SERVICE_ROUTES: RegisterSelfServiceRoutes[] = [registerSelfServiceUsage, registerSelfServiceQuota];

/**
 * Paths the tenant-key middleware guards (all of /gateway/v1 but its OpenAPI document), and whether
 * `?key=` is also a filter there (usage: a key id or prefix to filter on, so it authenticates only
 * when it holds a whole secret).
 */
export const SELF_SERVICE_PATHS: Array<{ path: string; keyIsFilter: boolean }> = [
  { path: '/gateway/v1/usage', keyIsFilter: true },
  { path: '/gateway/v1/usage/*', keyIsFilter: true },
  { path: '/gateway/v1/quota', keyIsFilter: false },
];
