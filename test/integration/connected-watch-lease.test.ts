import anyTest, { type TestFn } from 'ava';
import { Redis } from 'ioredis';
import { PassThrough } from 'node:stream';
import { createLogger } from '../../src/core/log.js';
import { generateKey } from '../../src/core/secret-box.js';
import { connectedFixture, type ConnectedFixture } from '../helpers/connected.js';
import { TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { openSse } from '../helpers/stream-clients.js';
import { startSystem, type System } from '../helpers/system.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { call } from '../helpers/tenants.js';

// One watcher per connected mailbox across worker processes (a Redis lease), taken over when its holder stops,
// reconnecting after the server drops it, restarted (LOGOUT, then a new login) when the account changes.

const PASSWORD = 'bob-Lease-pw-93a0';
const BOX = 'lease@example.org';
const base = `/api/v1/mailboxes/${BOX}`;

const test = anyTest as TestFn<
  ConnectedFixture<TcpProxy> & {
    web: System;
    workers: System[];
    mailboxId: string;
    redis: Redis;
    prefix: string;
    /** the workers' log lines, at trace level */
    lines: string[];
  }
>;

const mail = (subject: string) =>
  ['From: carl@example.net', `To: ${BOX}`, `Subject: ${subject}`, '', 'hello', ''].join('\r\n');

const holders = (t: { context: { workers: System[] } }) =>
  t.context.workers.filter((w) => w.worker!.watchers!.watching().length > 0);

const connectedWatchers = async (sys: System) =>
  (await sys.deps.metrics.connectedWatchers.get()).values.find((v) => v.labels.state === 'watching')?.value ?? 0;

const events = async (sys: System, event: string) =>
  (await sys.deps.metrics.connectedWatchEvents.get()).values.find((v) => v.labels.event === event)?.value ?? 0;

/** Poll `check` until it holds (the product never polls; the test observes it from outside). */
async function until(what: string, check: () => Promise<boolean> | boolean, ms = 15_000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The one worker whose watcher is connected (its session is the open one in Dovecot's log). */
async function holder(t: { context: { workers: System[] } }): Promise<System> {
  let found: System | undefined;
  await until('one connected watcher', async () => {
    const connected = [];
    for (const w of t.context.workers) if ((await connectedWatchers(w)) > 0) connected.push(w);
    found = connected.length === 1 ? connected[0] : undefined;
    return found !== undefined && holders(t).length === 1;
  });
  return found!;
}

test.before(async (t) => {
  const prefix = uniquePrefix();
  const env = {
    CREDENTIALS_KEY: generateKey(),
    CONNECTED_ALLOW_HOSTS: '127.0.0.1',
    IMAP_TIMEOUT_MS: '5000',
    CONNECTED_WATCH_SCAN_MS: '100',
    CONNECTED_WATCH_LEASE_MS: '1500',
    CONNECTED_WATCH_BACKOFF_MIN_MS: '50',
    CONNECTED_WATCH_BACKOFF_MAX_MS: '400',
  };
  const fx = await connectedFixture({
    users: [{ user: 'bob', password: PASSWORD }],
    proxy: (port) => startTcpProxy(port),
    env,
    prefix,
  });
  const lines: string[] = [];
  t.context = { ...fx, web: fx.sys, workers: [], mailboxId: '', redis: new Redis(TEST_REDIS_URL), prefix, lines };
  const database = fx.sys.database;
  const traced = () => {
    const sink = new PassThrough();
    sink.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
    return createLogger({ log: { level: 'trace', pretty: false } }, 'worker', sink);
  };
  for (let i = 0; i < 2; i++)
    t.context.workers.push(
      await startSystem({ roles: ['worker'], env, prefix, database, overrides: { log: traced() } }),
    );
  t.context.mailboxId = await fx.connect(BOX, 'bob');
});
test.after.always(async (t) => {
  for (const w of t.context.workers ?? []) await w.stop();
  t.context.redis?.disconnect();
  await t.context.stop?.();
});

test.serial('two worker processes: one watcher (one IMAP session), one event per message', async (t) => {
  await holder(t);
  // over four lease renewals and many scans, never a second watcher or session
  const end = Date.now() + 2_000;
  while (Date.now() < end) {
    t.is(holders(t).length, 1);
    const c = t.context.dv.logCounts();
    t.is(c.logins - c.logouts, 1, JSON.stringify(c));
    await new Promise((r) => setTimeout(r, 100));
  }
  const lease = await t.context.redis.get(`${t.context.prefix}:connected:lease:${t.context.mailboxId}`);
  t.truthy(lease);
  t.notRegex(lease!, new RegExp(PASSWORD)); // the owner id of a worker, nothing of the account
  const sse = await openSse(t.context.web.baseUrl + `${base}/events`, { token: t.context.owner.apiKey });
  try {
    await sse.next((e) => e.event === 'ready');
    const { uid, uidValidity } = await t.context.dv.append('bob', 'INBOX', mail('leased'));
    const frame = await sse.next((e) => e.event === 'new_message');
    t.is(frame.id, `${uidValidity}.${uid}`);
    await new Promise((r) => setTimeout(r, 500));
    t.is(sse.inbox.all.filter((e) => e.event === 'new_message').length, 1);
  } finally {
    sse.close();
  }
});

test.serial(
  'the server drops the connection: the watcher reconnects and publishes what arrived meanwhile',
  async (t) => {
    const w = await holder(t);
    const reconnects = await events(w, 'reconnect');
    const sse = await openSse(t.context.web.baseUrl + `${base}/events`, { token: t.context.owner.apiKey });
    try {
      await sse.next((e) => e.event === 'ready');
      t.context.proxy.break(); // every connection through the proxy dropped, new ones refused
      await until('the watcher noticed', async () => (await connectedWatchers(w)) === 0);
      const during = await t.context.dv.append('bob', 'INBOX', mail('while away')); // straight to Dovecot
      await t.context.proxy.restore();
      const frame = await sse.next((e) => e.event === 'new_message', 15_000);
      t.is(frame.id, `${during.uidValidity}.${during.uid}`);
      t.is(frame.data.message.subject, 'while away');
      t.true((await events(w, 'reconnect')) > reconnects);
      const after = await t.context.dv.append('bob', 'INBOX', mail('after the drop'));
      t.is((await sse.next((e) => e.event === 'new_message')).id, `${after.uidValidity}.${after.uid}`);
    } finally {
      sse.close();
    }
  },
);

test.serial('PATCH of the IMAP account: the old session ends with LOGOUT, the watcher logs in again', async (t) => {
  await holder(t);
  const before = await t.context.dv.waitForLog((c) => c.logins - c.logouts === 1);
  const r = await call(t.context.web, 'PATCH', base, {
    token: t.context.owner.apiKey,
    body: { imap: { password: PASSWORD } }, // sealed again: the account's fingerprint changes
  });
  t.is(r.status, 200, r.text);
  // the PATCH's own verification (LOGIN/LOGOUT), the old watcher's LOGOUT and the new watcher's login
  const after = await t.context.dv.waitForLog(
    (c) => c.loggedOut >= before.loggedOut + 2 && c.logins === before.logins + 2 && c.logins - c.logouts === 1,
  );
  t.is(after.logins - after.logouts, 1);
  await holder(t);
});

test.serial(
  'a lost lease stops the watcher; the holder that stops gives the mailbox to the other worker',
  async (t) => {
    const first = await holder(t);
    const key = `${t.context.prefix}:connected:lease:${t.context.mailboxId}`;
    const before = t.context.dv.logCounts();
    // someone else holds the lease now (as after an expiry during a Redis outage)
    await t.context.redis.set(key, 'another-worker', 'PX', 3_000);
    await until('the watcher stopped', () => holders(t).length === 0);
    t.true((await events(first, 'lease_lost')) >= 1);
    // its session ended with LOGOUT, and no worker logs in while the other holds the lease
    const stopped = await t.context.dv.waitForLog(
      (c) => c.logins === c.logouts && c.loggedOut === before.loggedOut + 1,
    );
    t.is(stopped.logins, before.logins);
    // once that lease expires, a worker takes the mailbox again
    const next = await holder(t);
    await next.worker!.close(); // LOGOUT, lease given back
    const other = t.context.workers.find((w) => w !== next)!;
    await until('the other worker took over', () => other.worker!.watchers!.watching().length === 1, 5_000);
    const sse = await openSse(t.context.web.baseUrl + `${base}/events`, { token: t.context.owner.apiKey });
    try {
      await sse.next((e) => e.event === 'ready');
      await until('connected', async () => (await connectedWatchers(other)) === 1);
      const { uid } = await t.context.dv.append('bob', 'INBOX', mail('taken over'));
      const frame = await sse.next((e) => e.event === 'new_message');
      t.is(frame.id?.split('.')[1], String(uid));
    } finally {
      sse.close();
    }
  },
);

test.serial("no secret in the workers' log (trace level) or in Redis", async (t) => {
  const { lines } = t.context;
  t.true(lines.some((l) => l.includes('"event":"connected.watch_started"')));
  t.true(
    lines.some((l) => l.includes('"event":"connected.watch_failed"')),
    'the dropped connection was logged',
  );
  t.deepEqual(
    lines.filter((l) => l.includes(PASSWORD)),
    [],
  );
  const keys = await t.context.redis.keys(`${t.context.prefix}:*`);
  t.true(keys.some((k) => k.includes(':connected:')));
  for (const key of keys) {
    if ((await t.context.redis.type(key)) !== 'string') continue;
    t.false((await t.context.redis.get(key))!.includes(PASSWORD), key);
  }
});
