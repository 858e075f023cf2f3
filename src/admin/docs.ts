import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { RegisterAdminRoutes } from './types.js';

/**
 * /admin/docs: Swagger UI over /admin/v1/openapi.json, served from the swagger-ui-dist package so
 * it works offline (no CDN). URLs are relative, so it keeps working behind a path prefix.
 */
const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Gemini Gateway admin API</title>
  <link rel="stylesheet" href="docs/assets/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="docs/assets/swagger-ui-bundle.js"></script>
  <script src="docs/assets/init.js"></script>
</body>
</html>
`;

// Relative to the page (/admin/docs), so 'v1/openapi.json' is /admin/v1/openapi.json.
const INIT = `window.ui = SwaggerUIBundle({
  url: new URL('v1/openapi.json', document.baseURI).href,
  dom_id: '#swagger-ui',
  deepLinking: true,
  tryItOutEnabled: false,
});
`;

const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
};

// As the dashboard's: nothing but this origin, no <base> to redirect relative URLs, no framing (the page can send the admin token).
const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

export const registerDocsRoutes: RegisterAdminRoutes = (app) => {
  const dir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  const cache = new Map<string, Buffer>();
  // Read on first use, not at startup: the ~1.5 MB bundle is only needed when someone opens the page.
  const asset = (name: string) => cache.get(name) ?? cache.set(name, readFileSync(join(dir, name))).get(name)!;

  app.get('/admin/docs', (c) => c.html(PAGE, 200, { 'content-security-policy': CSP }));
  app.get('/admin/docs/assets/init.js', (c) => c.body(INIT, 200, { 'content-type': 'text/javascript; charset=utf-8' }));
  app.get('/admin/docs/assets/:file', (c) => {
    const file = c.req.param('file');
    const type = ASSETS[file];
    if (!type) return c.notFound();
    return c.body(new Uint8Array(asset(file)), 200, { 'content-type': type, 'cache-control': 'public, max-age=86400' });
  });
};
