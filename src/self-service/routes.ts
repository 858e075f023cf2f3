import type { AppDeps } from '../app.js';
import type { SelfServiceApp } from './app.js';
import { registerSelfServiceUsage } from './usage.js';

/** One registration function per self-service resource (usage, quota…), each scoped to the caller's project. */
export type RegisterSelfServiceRoutes = (app: SelfServiceApp, deps: AppDeps) => void;

export const SELF_SERVICE_ROUTES: RegisterSelfServiceRoutes[] = [registerSelfServiceUsage];

/** Paths the tenant-key middleware guards (other /gateway/v1 surfaces, such as quota, authenticate themselves). */
export const SELF_SERVICE_PATHS = ['/gateway/v1/usage', '/gateway/v1/usage/*'];
