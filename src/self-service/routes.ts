import type { AppDeps } from '../app.js';
import type { SelfServiceApp } from './app.js';
import { registerSelfServiceUsage } from './usage.js';

/** One registration function per self-service resource (usage, quota…), each scoped to the caller's project. */
export type RegisterSelfServiceRoutes = (app: SelfServiceApp, deps: AppDeps) => void;

export const SELF_SERVICE_ROUTES: RegisterSelfServiceRoutes[] = [registerSelfServiceUsage];
