import anyTest, { type TestFn } from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { Redis } from 'ioredis';
import { createTokenSigner } from '../../src/access/tokens.js';
import { createApp } from '../../src/api/app.js';
import { createLogger } from '../../src/core/log.js';
import { freePort, waitFor } from '../helpers/private-services.js';
import { startSystem, type System } from '../helpers/system.js';

/**
 * The limiter's store goes away: the API keeps answering (fail open) and says so in the log. The web
 * app under test talks to a private redis-server that this test starts and kills; the shared Redis
 * is never touched.
 */
interface Ctx {
  sys: System;
  redisProc: ChildProcess;
  redis: Redis;
  server: Server;
  url: string;
  logs: string[];
}
const test = anyTest as TestFn<Ctx>;

test.before(async (t) => {
  const sys = await startSystem({ roles: ['web'] });
  const port = await freePort();
  const redisProc = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const redis = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
  });
  redis.on('error', () => undefined);
  // one connect, once the server answers PING: retrying connect() on a client whose first attempt failed
  // throws "already connecting" (ioredis reconnects by itself), which failed this hook on a busy machine
  await waitFor(port, 'PING\r\n', /PONG/, 10_000);
  await redis.connect();
  const logs: string[] = [];
  const sink = new PassThrough();
  sink.on('data', (d: Buffer) => logs.push(...d.toString().split('\n').filter(Boolean)));
  const log = createLogger({ log: { level: 'warn', pretty: false } }, 'test', sink);
  const app = createApp({
    ...sys.deps,
    log,
    redis,
    plans: sys.deps.stores.plans,
    signer: createTokenSigner(sys.config.tokenSecret!),
  });
  const koa = app.callback();
  const server = createServer((req, res) => void koa(req, res)).listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.context = {
    sys,
    redisProc,
    redis,
    server,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    logs,
  };
});
test.after.always(async (t) => {
  const { server, redis, redisProc, sys } = t.context;
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  redis?.disconnect();
  if (redisProc && redisProc.exitCode === null && redisProc.signalCode === null) {
    redisProc.kill('SIGKILL');
    await once(redisProc, 'exit');
  }
  await sys?.stop();
});

test('with its Redis gone the limiter fails open: requests are served and a warning is logged', async (t) => {
  const { url, redisProc, logs } = t.context;
  const box = await t.context.sys.createMailbox();
  const get = () =>
    fetch(`${url}/api/v1/mailboxes/${box.address}`, { headers: { authorization: `Bearer ${box.token}` } });

  const counted = await get();
  t.is(counted.status, 200);
  const limit = Number(counted.headers.get('ratelimit-limit'));
  t.true(Number(counted.headers.get('ratelimit-remaining')) < limit, 'counted while Redis is up');

  redisProc.kill('SIGKILL');
  await once(redisProc, 'exit');
  const started = Date.now();
  const open = await get();
  t.is(open.status, 200, 'still served');
  t.true(Date.now() - started < 2_000, 'no long wait on the dead store');
  t.is(Number(open.headers.get('ratelimit-remaining')), limit, 'not counted (fail open)');
  const warnings = logs.map((l) => JSON.parse(l)).filter((l) => l.event === 'ratelimit.unavailable');
  t.true(warnings.length >= 1);
  t.is(warnings[0].policy, 'fail_open');
});
