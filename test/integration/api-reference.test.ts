import anyTest, { type TestFn } from 'ava';
import { startSystem, type System } from '../helpers/system.js';

/** A web role whose per-IP budget is 3 requests, and one behind a public URL with a path prefix. */
const test = anyTest as TestFn<{ sys: System; behindProxy: System }>;
test.before(async (t) => {
  const sys = await startSystem({ roles: ['web'], env: { RATE_LIMIT_IP_POINTS: '3' } });
  const behindProxy = await startSystem({
    roles: ['web'],
    database: sys.database,
    env: { PUBLIC_URL: 'https://mail.mailwright.test/mw' },
  });
  t.context = { sys, behindProxy };
});
test.after.always(async (t) => {
  await t.context.behindProxy?.stop();
  await t.context.sys?.stop();
});

const TYPES: Record<string, RegExp> = { css: /^text\/css\b/, js: /^application\/javascript\b/, png: /^image\/png$/ };
const urlsIn = (html: string) => [...html.matchAll(/\b(?:src|href|data-url)="([^"]*)"/g)].map((m) => m[1]!);

test('GET /docs: an HTML page whose every asset is local and served with its type, pointing at the OpenAPI document', async (t) => {
  const { sys } = t.context;
  const res = await sys.api('/docs');
  t.is(res.status, 200);
  t.regex(res.headers.get('content-type') ?? '', /^text\/html/);
  const html = await res.text();
  const urls = urlsIn(html);
  t.true(urls.length >= 4, html);
  for (const u of urls) t.notRegex(u, /^([a-z][a-z0-9+.-]*:|\/\/)/i, `${u} is not local`);

  const page = new URL('/docs', sys.baseUrl);
  const assets = urls.filter((u) => /\.(css|js|png)(\?|$)/.test(u));
  t.deepEqual(assets.map((u) => /\.(\w+)(\?|$)/.exec(u)![1]).sort(), ['css', 'js', 'js', 'png']);
  for (const u of assets) {
    const asset = await fetch(new URL(u, page));
    const body = Buffer.from(await asset.arrayBuffer());
    t.is(asset.status, 200, u);
    t.regex(asset.headers.get('content-type') ?? '', TYPES[/\.(\w+)(\?|$)/.exec(u)![1]!]!, u);
    t.true(body.length > 0, u);
    t.is(asset.headers.get('x-content-type-options'), 'nosniff', u);
  }
  const script = await (await fetch(new URL('docs/reference.js', page))).text();
  t.regex(script, /SwaggerUIBundle\(/);
  t.regex(script, /root\.dataset\.url/);

  // the page names the document, relative to itself: /api/v1/openapi.json
  const [documentUrl] = [...html.matchAll(/data-url="([^"]*)"/g)].map((m) => new URL(m[1]!, page));
  t.is(documentUrl?.pathname, '/api/v1/openapi.json');
  const doc = await fetch(documentUrl!);
  t.is(doc.status, 200);
  t.is(((await doc.json()) as { openapi: string }).openapi, '3.1.0');
});

test('GET /docs: a strict Content-Security-Policy (this origin only, no inline or eval script), not rate-limited', async (t) => {
  const { sys } = t.context;
  const csp = (await sys.api('/docs')).headers.get('content-security-policy') ?? '';
  const directives = Object.fromEntries(
    csp
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .map(([k, ...v]) => [k, v]),
  );
  t.deepEqual(directives['default-src'], ["'none'"]);
  t.deepEqual(directives['script-src'], ["'self'"]);
  t.deepEqual(directives['style-src'], ["'self'"]);
  t.deepEqual(directives['connect-src'], ["'self'"]);
  t.deepEqual(directives['frame-ancestors'], ["'none'"]);
  t.notRegex(csp, /https?:|unsafe-eval/);

  // the per-IP budget is 3 requests: spend it on the API, then the page and its assets are still served, without RateLimit headers
  const api = [];
  for (let i = 0; i < 10 && api.at(-1) !== 429; i++) api.push((await sys.api('/api/v1/mailboxes')).status);
  t.is(api.at(-1), 429, 'the API routes are limited');
  for (let i = 0; i < 6; i++) {
    const res = await sys.api(i % 2 ? '/docs' : '/docs/swagger-ui.css');
    await res.arrayBuffer();
    t.is(res.status, 200);
    t.is(res.headers.get('ratelimit-limit'), null);
  }
});

test('unknown paths: JSON 404 under /docs and /api, nothing else of node_modules is reachable; /docs/ redirects to the page', async (t) => {
  const sys = t.context.behindProxy; // the other one spends its per-IP budget in another test
  for (const path of [
    '/docs/index.html',
    '/docs/swagger-ui-bundle.js.map',
    '/docs/..%2Fpackage.json',
    '/docs/%2e%2e%2f%2e%2e%2fpackage.json',
    '/docs/package.json',
    '/api/v1/nothing-here',
  ]) {
    const res = await sys.json(path);
    t.is(res.status, 404, path);
    t.is(res.body?.error?.code, 'not_found', path);
  }
  const slash = await sys.api('/docs/', { redirect: 'manual' });
  t.is(slash.status, 302);
  t.is(new URL(slash.headers.get('location')!, `${sys.baseUrl}/docs/`).pathname, '/docs');
});

test("GET /api/v1/asyncapi.json: cached like openapi.json; servers are the request's host, or PUBLIC_URL with its path", async (t) => {
  const { sys, behindProxy } = t.context;
  const res = await sys.json('/api/v1/asyncapi.json', { headers: { 'x-forwarded-proto': 'https' } });
  t.is(res.status, 200);
  t.regex(res.headers.get('content-type') ?? '', /^application\/json/);
  t.is(res.headers.get('cache-control'), 'public, max-age=300');
  t.regex(res.headers.get('vary') ?? '', /host/i);
  t.is(res.body.asyncapi, '3.0.0');
  const host = new URL(sys.baseUrl).host;
  t.deepEqual(res.body.servers.sse, { host, protocol: 'https', title: 'Server-Sent Events' });
  t.deepEqual(res.body.servers.websocket, { host, protocol: 'wss', title: 'WebSocket' });
  t.is((await sys.json('/api/v1/asyncapi.json')).body.servers.websocket.protocol, 'ws');

  const fixed = await behindProxy.json('/api/v1/asyncapi.json');
  t.like(fixed.body.servers, {
    sse: { host: 'mail.mailwright.test', protocol: 'https', pathname: '/mw' },
    websocket: { host: 'mail.mailwright.test', protocol: 'wss', pathname: '/mw' },
  });
  t.is(fixed.headers.get('vary'), null);
  // the reference page may call the API at PUBLIC_URL
  t.regex(
    (await behindProxy.api('/docs')).headers.get('content-security-policy') ?? '',
    /connect-src 'self' https:\/\/mail\.mailwright\.test;/,
  );
});
