import { randomBytes } from 'node:crypto';
import anyTest, { type TestFn } from 'ava';
import { Redis } from 'ioredis';
import { channelListeners, eventually } from '../../helpers/channels.js';
import { TEST_REDIS_URL } from '../../helpers/redis.js';
import { openSse, openWs, wsUrl } from '../../helpers/stream-clients.js';
import { startSystem, type System } from '../../helpers/system.js';

// Each web process subscribes only the channels of mailboxes it has a stream or wait for (plus the access
// channel), so it is never sent the events of the rest of the installation. Two web processes share one
// worker; PUBSUB NUMSUB (the real Redis) tells who listens to what. Serial: the tests count web A's hub listeners.
const LINGER_MS = 400;
const test = anyTest as TestFn<{ core: System; webA: System; webB: System; redis: Redis }>;
test.before(async (t) => {
  const env = { TOKEN_SECRET: randomBytes(32).toString('hex'), STREAM_UNSUBSCRIBE_LINGER_MS: String(LINGER_MS) };
  t.context.core = await startSystem({ roles: ['smtp', 'worker'], env });
  const shared = { database: t.context.core.database, prefix: t.context.core.config.redis.prefix, env };
  t.context.webA = await startSystem({ ...shared, roles: ['web'] });
  t.context.webB = await startSystem({ ...shared, roles: ['web'] });
  t.context.redis = new Redis(TEST_REDIS_URL);
});
test.after.always(async (t) => {
  t.context.redis?.disconnect();
  await t.context.webA?.stop();
  await t.context.webB?.stop();
  await t.context.core?.stop();
});

const gauge = async (sys: System) => (await sys.deps.metrics.mailboxChannels.get()).values[0]?.value ?? 0;
const listeners = (t: { context: { core: System; redis: Redis } }, address: string) =>
  channelListeners(t.context.redis, t.context.core, address);
const until = (what: () => Promise<boolean>, ms = 5_000) => eventually(what, ms);

test.serial(
  'a mailbox channel is subscribed while a stream is open on that web process only, and released after the linger',
  async (t) => {
    const { core, webA, webB } = t.context;
    const served = await webA.createMailbox('?ttl_minutes=30');
    const other = await webA.createMailbox('?ttl_minutes=30');
    t.is(await listeners(t, served.address), 0, 'no web process listens before a stream opens');

    const ws = await openWs(wsUrl(webA.baseUrl, `/api/v1/mailboxes/${served.address}/ws`), { token: served.token });
    await ws.next((f) => f.type === 'ready');
    // `ready` is sent only after Redis confirmed the subscription
    t.is(await listeners(t, served.address), 1, 'web A alone listens to the served mailbox');
    t.is(await listeners(t, other.address), 0, 'nobody listens to a mailbox without streams');
    t.is(await gauge(webA), 1, 'mailwright_subscribed_mailbox_channels on web A');
    t.is(await gauge(webB), 0);
    t.is(webA.web!.streams.hub.size(), 1);
    t.is(webB.web!.streams.hub.size(), 0);

    // mail to both: the served one reaches the stream; the other is published to no subscriber at all
    await core.send({ to: other.address, subject: 'unserved', text: 'x' });
    await core.send({ to: served.address, subject: 'served', text: 'y' });
    t.is((await ws.next((f) => f.type === 'new_message')).message.subject, 'served');

    // a second stream on the same mailbox shares the subscription; closing one keeps it
    const sse = await openSse(`${webA.baseUrl}/api/v1/mailboxes/${served.address}/events?token=${served.token}`);
    await sse.next((e) => e.event === 'ready');
    ws.close();
    t.true(await until(async () => webA.web!.streams.hub.size() === 1));
    await new Promise((r) => setTimeout(r, LINGER_MS * 2));
    t.is(await listeners(t, served.address), 1, 'still subscribed while the SSE stream is open');

    sse.close();
    t.true(await until(async () => webA.web!.streams.hub.size() === 0));
    t.is(await listeners(t, served.address), 1, 'kept for the linger after the last stream left');
    t.true(
      await until(async () => (await listeners(t, served.address)) === 0),
      'released after STREAM_UNSUBSCRIBE_LINGER_MS',
    );
    t.is(await gauge(webA), 0);
  },
);

test.serial('a stream that comes back within the linger keeps the subscription and misses nothing', async (t) => {
  const { core, webA } = t.context;
  const box = await webA.createMailbox('?ttl_minutes=30');
  const url = wsUrl(webA.baseUrl, `/api/v1/mailboxes/${box.address}/ws`);
  for (let round = 1; round <= 3; round++) {
    const ws = await openWs(url, { token: box.token });
    await ws.next((f) => f.type === 'ready');
    await core.send({ to: box.address, subject: `round ${round}`, text: 'x' });
    t.is(
      (await ws.next((f) => f.type === 'new_message' && f.message.subject === `round ${round}`)).cursor,
      String(round),
    );
    ws.close();
    await new Promise((r) => setTimeout(r, LINGER_MS / 4));
    t.is(await listeners(t, box.address), 1, `round ${round}: reconnecting within the linger keeps the channel`);
  }
  t.true(await until(async () => (await listeners(t, box.address)) === 0));
});

test.serial(
  'a blocking wait subscribes its mailbox for as long as it waits, and is woken by the delivery',
  async (t) => {
    const { core, webA } = t.context;
    const box = await webA.createMailbox('?ttl_minutes=30');
    const waiting = webA.json(`/api/v1/mailboxes/${box.address}/messages?wait=20`, { token: box.token });
    t.true(await until(async () => (await listeners(t, box.address)) === 1), 'the wait subscribed the channel');
    const sent = Date.now();
    await core.send({ to: box.address, subject: 'woken', text: 'x' });
    const r = await waiting;
    t.is(r.status, 200);
    t.is(r.body[0].subject, 'woken');
    t.true(Date.now() - sent < 10_000, 'answered on the event, not at the deadline');
    t.true(await until(async () => (await listeners(t, box.address)) === 0), 'released after the linger');
  },
);
