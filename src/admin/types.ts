import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps, AppEnv } from '../deps.js';

/** The admin surface's one OpenAPIHono: every module registers on it, so one document describes them all. */
export type AdminApp = OpenAPIHono<AppEnv>;

/** What the admin surface uses. */
export type AdminDeps = Pick<AppDeps, 'config' | 'log' | 'db' | 'clock' | 'keys' | 'quotas' | 'prices' | 'resources' | 'keyPool'>;

/** One registration function per admin module (tenants, projects, keys, limits, usage…). */
export type RegisterAdminRoutes = (app: AdminApp, deps: AdminDeps) => void;
