import { Hono } from 'hono';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** public/ sits at the repo root both for src/ (tests, tsx) and dist/ (compiled), like migrations/. */
const PUBLIC_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../public/dashboard');
/** Chart.js's self-contained UMD build, served straight from node_modules: no bundling step. */
const CHART_JS = join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

const HEADERS = {
  // The page only talks to this origin; the admin token lives in sessionStorage, so no third-party script may run.
  // base-uri: a <base> slipped into the page would resolve its relative script and API URLs elsewhere.
  'content-security-policy': "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

/**
 * /dashboard: static HTML + ES modules + Chart.js, read once into memory. Only files that exist
 * in public/dashboard at startup are served (no path is ever joined from the URL). The page signs
 * in with the admin token and calls /admin/v1/usage like any other client; /dashboard redirects to
 * /dashboard/, the base its relative URLs need.
 */
export function createDashboardApp() {
  const files = new Map<string, { body: Buffer; type: string }>();
  for (const name of readdirSync(PUBLIC_DIR)) {
    const type = TYPES[extname(name)];
    if (type) files.set(name, { body: readFileSync(join(PUBLIC_DIR, name)), type });
  }
  files.set('vendor/chart.umd.min.js', { body: readFileSync(CHART_JS), type: TYPES['.js']! });

  const app = new Hono();
  app.get('/dashboard/*', (c) => {
    // The page names its files and the admin API relative to …/dashboard/, so it works under a
    // PUBLIC_BASE_URL path; a relative Location keeps that path, which this gateway may never see.
    if (c.req.path === '/dashboard') return c.body(null, 302, { location: 'dashboard/', 'cache-control': 'no-cache' });
    const name = c.req.path.slice('/dashboard/'.length) || 'index.html';
    const file = files.get(name);
    if (!file) return c.text('Not found', 404);
    return c.body(new Uint8Array(file.body), 200, { ...HEADERS, 'content-type': file.type });
  });
  return app;
}
