// /admin/ui: the admin web page, static files shipped beside this one, under a strict Content-Security-Policy.

import { readFileSync } from 'node:fs';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** Every file the page is made of; nothing else under /admin/ui is served. */
const files = ['index.html', 'app.js', 'api.js', 'dom.js', 'chart.js', 'views.js', 'app.css'];

/**
 * Scripts and styles come from these files only (no inline script, nothing from another
 * origin), the page talks to this origin only, and no other site may frame it.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const securityHeaders = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  // The page is small and changes with the engine: always revalidate, never serve a stale one.
  'cache-control': 'no-cache',
};

export const adminUiRoutes = (): FastifyPluginAsyncTypebox => async (app) => {
  const served = new Map(
    files.map((name) => {
      const extension = name.slice(name.lastIndexOf('.'));
      return [name, { body: readFileSync(new URL(`../admin-ui/${name}`, import.meta.url)), type: types[extension] ?? 'application/octet-stream' }];
    }),
  );
  const page = served.get('index.html');

  app.get('/admin', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/admin/ui', 302));

  app.get(
    '/admin/ui',
    { schema: { tags: ['admin'], operationId: 'getAdminPage', summary: 'The admin web page over the admin API; the bearer token is typed into the page (or given once as #token=…)' } },
    async (_request, reply) => reply.headers(securityHeaders).type(page?.type ?? 'text/html').send(page?.body),
  );

  app.get('/admin/ui/:file', { schema: { hide: true, params: Type.Object({ file: Type.String({ maxLength: 40 }) }) } }, async (request, reply) => {
    const file = served.get(request.params.file);
    if (!file || request.params.file === 'index.html') return reply.callNotFound();
    return reply.headers(securityHeaders).type(file.type).send(file.body);
  });
};
