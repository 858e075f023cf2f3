import { registerSelfServiceQuota } from './quota.js';
import type { RegisterSelfServiceRoutes } from './types.js';
import { registerSelfServiceUsage } from './usage.js';

export const SELF_SERVICE_ROUTES: RegisterSelfServiceRoutes[] = [registerSelfServiceUsage, registerSelfServiceQuota];

/** Paths the tenant-key middleware guards: all of /gateway/v1. */
export const SELF_SERVICE_PATHS = ['/gateway/v1/usage', '/gateway/v1/usage/*', '/gateway/v1/quota'];
