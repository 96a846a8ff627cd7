import { createReadStream, readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type Router from '@koa/router';
import type { Context } from 'koa';
import { newRouter } from '../router.js';

/**
 * GET /docs: the API reference, rendered in the browser by Swagger UI (swagger-ui-dist, a runtime dependency)
 * from /api/v1/openapi.json. Every asset comes from node_modules through this router (no CDN), under a
 * Content-Security-Policy that allows only this origin. Every URL in the page is relative to it, so the page
 * also works behind a proxy that serves the API under a path prefix (PUBLIC_URL=https://host/prefix).
 */
const MANIFEST = createRequire(import.meta.url).resolve('swagger-ui-dist/package.json');
const DIST = dirname(MANIFEST);

/** The files the page uses, with their types; nothing else under /docs/ is served. */
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'application/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

/** `v`, Swagger UI's version, is in the asset URLs so that a cached bundle is never used with another version's page. */
const page = (v: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Mailwright API reference</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="docs/swagger-ui.css?v=${v}">
<link rel="icon" type="image/png" href="docs/favicon-32x32.png?v=${v}">
</head><body><div id="swagger-ui" data-url="api/v1/openapi.json"></div>
<script src="docs/swagger-ui-bundle.js?v=${v}"></script>
<script src="docs/reference.js"></script>
</body></html>`;

/** Swagger UI's settings (a script of ours: the CSP allows no inline script). The document URL is read from the page. */
const SCRIPT = `(() => {
  const root = document.getElementById('swagger-ui');
  window.ui = SwaggerUIBundle({
    url: new URL(root.dataset.url, document.baseURI).href,
    domNode: root,
    deepLinking: true,
    layout: 'BaseLayout',
    presets: [SwaggerUIBundle.presets.apis],
    validatorUrl: null,
    displayOperationId: true,
    defaultModelsExpandDepth: 0,
  });
})();`;

/** Scripts, styles and requests stay on this origin (and the API's, when PUBLIC_URL names another); Swagger UI's icons are data: images. No inline script or style element is needed (test/integration/api-reference-browser.test.ts). */
export function referencePolicy(publicUrl?: string): string {
  const api = publicUrl ? ` ${new URL(publicUrl).origin}` : '';
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    `connect-src 'self'${api}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export function apiReferenceRoutes(publicUrl?: string): Router {
  const router = newRouter();
  const version = encodeURIComponent((JSON.parse(readFileSync(MANIFEST, 'utf8')) as { version: string }).version);
  const html = page(version);
  const headers = {
    'Content-Security-Policy': referencePolicy(publicUrl),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
  };

  router.get('/docs', (ctx: Context) => {
    if (ctx.path.endsWith('/')) return ctx.redirect('../docs'); // the page's relative URLs assume no trailing slash
    ctx.set({ ...headers, 'Cache-Control': 'no-cache' });
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = html;
  });
  router.get('/docs/reference.js', (ctx: Context) => {
    ctx.set({ ...headers, 'Cache-Control': 'no-cache' });
    ctx.type = 'application/javascript; charset=utf-8';
    ctx.body = SCRIPT;
  });
  router.get('/docs/:asset', async (ctx: Context, next) => {
    const type = Object.hasOwn(ASSETS, ctx.params.asset) ? ASSETS[ctx.params.asset] : undefined;
    if (!type) {
      await next(); // 404 not_found, like any unknown path
      return;
    }
    const file = join(DIST, ctx.params.asset);
    ctx.set({ ...headers, 'Cache-Control': 'public, max-age=86400' });
    ctx.type = type;
    ctx.length = (await stat(file)).size;
    ctx.body = createReadStream(file);
  });
  return router;
}
