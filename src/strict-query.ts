import type { OpenAPIHono, RouteConfig } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { GatewayError } from './errors.js';

/**
 * Makes every route registered with `app.openapi()` refuse query parameters its own `request.query`
 * schema does not declare (a route without one accepts none). zod objects drop unknown keys, so
 * without this `?projectId=…` (the parameter is `project`) answered every project's usage, which
 * reads as a filtered answer. The check is built from the same schema that validates and documents
 * the route, so the three cannot drift, and a route added later is covered without doing anything.
 * Routes registered with plain `app.get()` (the OpenAPI document, /admin/docs) are left alone.
 *
 * `alsoAccepted` names parameters the surface itself reads on every route (the self-service API
 * takes its credential as `?key=`, like Google's). Returns the same app.
 */
export function strictQueries<A extends OpenAPIHono<any, any, any>>(app: A, alsoAccepted: readonly string[] = []): A {
  const register = app.openapi as (route: RouteConfig, ...rest: unknown[]) => A;
  app.openapi = ((route: RouteConfig, ...rest: unknown[]) => {
    const known = [...new Set([...declaredQuery(route), ...alsoAccepted])];
    const middleware = route.middleware === undefined ? [] : [route.middleware].flat();
    return register({ ...route, middleware: [refuseUnknownQuery(known), ...middleware] }, ...rest);
  }) as A['openapi'];
  return app;
}

/** The parameter names of a route's query schema; fails at startup, not per request, on a shape it cannot read. */
function declaredQuery(route: RouteConfig): string[] {
  const query = route.request?.query as { shape?: Record<string, unknown> } | undefined;
  if (query === undefined) return [];
  if (!query.shape) throw new Error(`${route.method.toUpperCase()} ${route.path}: request.query must be a z.object for strictQueries`);
  return Object.keys(query.shape);
}

/** Runs after the surface's authentication (app-level middleware), so an anonymous caller learns nothing about the routes. */
function refuseUnknownQuery(known: readonly string[]): MiddlewareHandler {
  const accepted = new Set(known);
  return async function refuseUnknownQueryParameters(c, next) {
    const names = [...new Set(new URL(c.req.url).searchParams.keys())];
    const unknown = names.filter((n) => !accepted.has(n));
    if (unknown.length) throw new GatewayError('invalid_argument', unknownQueryMessage(unknown, known));
    await next();
  };
}

/** `Unknown query parameter "projectId" (did you mean "project"?). This route accepts: …` */
export function unknownQueryMessage(unknown: readonly string[], known: readonly string[]): string {
  const each = unknown.map((n) => {
    const hint = closestName(n, known);
    return `${shown(n)}${hint ? ` (did you mean "${hint}"?)` : ''}`;
  });
  const plural = unknown.length > 1 ? 's' : '';
  const accepts = known.length ? `This route accepts: ${known.join(', ')}.` : 'This route takes no query parameters.';
  return `Unknown query parameter${plural} ${each.join(', ')}. ${accepts}`;
}

/**
 * Real parameter names are short. A long "name" is more likely a misplaced value (a 39-character
 * Google key, a 47-character gateway key), and error bodies must never echo a secret.
 */
function shown(name: string): string {
  return name.length <= 32 ? JSON.stringify(name) : `(a name of ${name.length} characters)`;
}

const squash = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '');

/**
 * The known name the caller most likely meant: the same name in another case or separator style
 * (`group_by`, `GROUPBY` → `groupBy`), the same with an id/slug suffix (`projectId`, `tenant_slug`
 * → `project`, `tenant`), or one typo away (two for longer names; a transposition is one).
 */
export function closestName(name: string, known: readonly string[]): string | undefined {
  const s = squash(name);
  const bare = s.replace(/(ids?|slug)$/, '');
  const same = known.find((k) => squash(k) === s) ?? known.find((k) => squash(k) === bare);
  if (same) return same;
  const budget = s.length <= 4 ? 1 : 2;
  let best: { name: string; distance: number } | undefined;
  for (const k of known) {
    if (Math.abs(squash(k).length - s.length) > budget) continue;
    const d = typoDistance(s, squash(k));
    if (d <= budget && (!best || d < best.distance)) best = { name: k, distance: d };
  }
  return best?.name;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps cost 1. */
function typoDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}
