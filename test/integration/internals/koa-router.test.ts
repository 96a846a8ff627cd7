import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Router from '@koa/router';
import test from 'ava';
import Koa from 'koa';

// docs/internals.md, row "@koa/router ctx._matchedRoute": the request middleware in src/api/app.ts
// labels metrics and request logs with the route pattern the router matched, read after `next()` from
// `ctx._matchedRoute` (declared in the router's typings, absent from its README; underscore-named).
const ROW = 'internals.md row "@koa/router ctx._matchedRoute" (src/api/app.ts request metrics)';

test('after the router ran, an outer middleware reads the matched pattern (with prefix) from ctx._matchedRoute', async (t) => {
  const seen: unknown[] = [];
  const app = new Koa();
  app.use(async (ctx, next) => {
    await next();
    seen.push((ctx as { _matchedRoute?: unknown })._matchedRoute);
  });
  const router = new Router({ sensitive: true, prefix: '/api/v1' });
  router.get('/mailboxes/:address/messages/:id', (ctx) => {
    ctx.body = 'ok';
  });
  app.use(router.routes());
  const koa = app.callback();
  const server = createServer((req, res) => void koa(req, res));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  t.is((await fetch(`${base}/api/v1/mailboxes/a@b.test/messages/7`)).status, 200);
  t.is((await fetch(`${base}/nowhere`)).status, 404);
  t.deepEqual(
    seen,
    ['/api/v1/mailboxes/:address/messages/:id', undefined],
    `${ROW}: ctx._matchedRoute no longer holds the matched pattern`,
  );
});
