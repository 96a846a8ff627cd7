import { randomBytes } from 'node:crypto';
import anyTest, { type TestFn } from 'ava';
import { Redis } from 'ioredis';
import { channelListeners, eventually } from '../../helpers/channels.js';
import { TEST_REDIS_URL } from '../../helpers/redis.js';
import { openWs, wsUrl } from '../../helpers/stream-clients.js';
import { startSystem, type System } from '../../helpers/system.js';
import { startTcpProxy, type TcpProxy } from '../../helpers/tcp-proxy.js';

// The web role's Redis connections (its pub/sub subscriber among them) go through a proxy this test breaks;
// smtp and worker use Redis directly. Per-mailbox subscriptions must come back after a reconnect, and a
// stream opened while Redis is away must still start (after STREAM_SUBSCRIBE_WAIT_MS) and go live later.
const test = anyTest as TestFn<{ core: System; web: System; proxy: TcpProxy; redis: Redis }>;
test.before(async (t) => {
  const TOKEN_SECRET = randomBytes(32).toString('hex');
  t.context.core = await startSystem({ roles: ['smtp', 'worker'], env: { TOKEN_SECRET } });
  t.context.proxy = await startTcpProxy(Number(new URL(TEST_REDIS_URL).port || 6379), new URL(TEST_REDIS_URL).hostname);
  t.context.web = await startSystem({
    database: t.context.core.database,
    prefix: t.context.core.config.redis.prefix,
    roles: ['web'],
    env: { TOKEN_SECRET, REDIS_URL: `redis://127.0.0.1:${t.context.proxy.port}`, STREAM_SUBSCRIBE_WAIT_MS: '300' },
  });
  t.context.redis = new Redis(TEST_REDIS_URL);
});
test.after.always(async (t) => {
  t.context.redis?.disconnect();
  await t.context.web?.stop();
  await t.context.proxy?.close();
  await t.context.core?.stop();
});

const subscribers = (t: { context: { core: System; redis: Redis } }, address: string) =>
  channelListeners(t.context.redis, t.context.core, address);
const until = (what: () => Promise<boolean>, ms = 15_000) => eventually(what, ms);

test.serial(
  'after the subscriber connection drops and comes back, its mailbox channels are subscribed again and events flow',
  async (t) => {
    const { core, web, proxy } = t.context;
    const box = await web.createMailbox('?ttl_minutes=30');
    const ws = await openWs(wsUrl(web.baseUrl, `/api/v1/mailboxes/${box.address}/ws`), { token: box.token });
    await ws.next((f) => f.type === 'ready');
    t.is(await subscribers(t, box.address), 1);

    proxy.break(); // every connection of the web role is dropped, new ones too
    t.true(
      await until(async () => (await subscribers(t, box.address)) === 0),
      'the subscription went with the connection',
    );
    await new Promise((r) => setTimeout(r, 300));
    await proxy.restore();
    t.true(await until(async () => (await subscribers(t, box.address)) === 1), 'ioredis subscribed the channel again');

    await core.send({ to: box.address, subject: 'after reconnect', text: 'x' });
    const frame = await ws.next((f) => f.type === 'new_message');
    t.is(frame.message.subject, 'after reconnect');
    ws.close();
  },
);

test.serial(
  'a stream opened while Redis is unreachable starts after STREAM_SUBSCRIBE_WAIT_MS and goes live once Redis is back',
  async (t) => {
    const { core, web, proxy } = t.context;
    const box = await web.createMailbox('?ttl_minutes=30');
    await proxy.cut();
    try {
      const opened = Date.now();
      const ws = await openWs(wsUrl(web.baseUrl, `/api/v1/mailboxes/${box.address}/ws`), { token: box.token });
      const ready = await ws.next((f) => f.type === 'ready');
      t.is(ready.cursor, '0');
      t.true(Date.now() - opened >= 250, 'it waited for the subscription first');
      await proxy.restore();
      t.true(
        await until(async () => (await subscribers(t, box.address)) === 1),
        'the queued SUBSCRIBE went out on reconnect',
      );
      await core.send({ to: box.address, subject: 'live again', text: 'x' });
      t.is((await ws.next((f) => f.type === 'new_message')).message.subject, 'live again');
      ws.close();
    } finally {
      await proxy.restore();
    }
  },
);
