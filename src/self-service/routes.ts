import type { AppDeps } from '../app.js';
import type { SelfServiceApp } from './app.js';
import { registerSelfServiceQuota } from './quota.js';
import { registerSelfServiceUsage } from './usage.js';

/** One registration function per self-service resource (usage, quota…), each scoped to the caller's project. */
export type RegisterSelfServiceRoutes = (app: SelfServiceApp, deps: AppDeps) => void;

export const SELF_SERVICE_ROUTES: RegisterSelfServiceRoutes[] = [registerSelfServiceUsage, registerSelfServiceQuota];

/**
 * Paths the tenant-key middleware guards, and whether `?key=` is also a filter there (usage: a key
 * id or prefix to filter on, so it authenticates only when it holds a whole secret).
 */
export const SELF_SERVICE_PATHS: Array<{ path: string; keyIsFilter: boolean }> = [
  { path: '/gateway/v1/usage', keyIsFilter: true },
  { path: '/gateway/v1/usage/*', keyIsFilter: true },
  { path: '/gateway/v1/quota', keyIsFilter: false },
];
