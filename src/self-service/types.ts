import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps, AppEnv } from '../deps.js';
import type { Principal } from '../exchange/principal.js';

export type SelfServiceEnv = { Bindings: AppEnv['Bindings']; Variables: AppEnv['Variables'] & { principal: Principal } };
export type SelfServiceApp = OpenAPIHono<SelfServiceEnv>;

/** What the self-service surface uses. */
export type SelfServiceDeps = Pick<AppDeps, 'config' | 'log' | 'db' | 'clock' | 'quotas' | 'tenantAuth' | 'clientAddress'>;

/** One registration function per self-service resource (usage, quota…), each scoped to the caller's project. */
export type RegisterSelfServiceRoutes = (app: SelfServiceApp, deps: SelfServiceDeps) => void;
