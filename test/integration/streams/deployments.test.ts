import test, { type ExecutionContext } from 'ava';
import type { StreamEvent } from '../../../src/pubsub/events.js';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../../helpers/redis.js';
import { openSse } from '../../helpers/stream-clients.js';
import { startSystem, type System } from '../../helpers/system.js';

// Two deployments on one Redis server. Pub/sub channels are server-wide (a database index does not separate
// them), so each deployment's channel names must differ: by QUEUE_PREFIX, or by the database index.

const idOf = async (sys: System, address: string) => (await sys.deps.stores.mailboxes.findByAddress(address))!.id;

/**
 * `other` listens on the channel of `own`'s mailbox id (as it would if it served a mailbox with that id). A
 * delivery in `own` reaches `own`'s stream; then `other` publishes a sentinel on its own channel for that id.
 * Redis pushes a PUBLISH to every subscriber before it answers, so had `own`'s event been on a channel `other`
 * listens to, `other` would have received it before the sentinel.
 */
async function deliveredOnlyToItsOwn(t: ExecutionContext, own: System, other: System) {
  const box = await own.createMailbox('?ttl_minutes=30');
  const id = await idOf(own, box.address);
  const stream = await openSse(`${own.baseUrl}/api/v1/mailboxes/${box.address}/events`, { token: box.token });
  t.is(stream.status, 200);
  await stream.next((e) => e.event === 'ready');
  const heard: StreamEvent[] = [];
  let sentinel!: () => void;
  const sentinelHeard = new Promise<void>((resolve) => {
    sentinel = resolve;
  });
  const off = other.web!.streams.hub.subscribe(id, (e) => {
    heard.push(e);
    if (e.type === 'new_message' && e.message.id === 'sentinel') sentinel();
  });
  try {
    await other.web!.streams.hub.listening(id);
    await own.send({ to: box.address, subject: 'for its own deployment only', text: 'x' });
    const got = await stream.next((e) => e.event === 'new_message');
    t.is(got.data.message.subject, 'for its own deployment only', 'its own stream gets the message');
    await other.deps.publisher.publish({
      type: 'new_message',
      mailboxId: id,
      cursor: '1',
      message: { id: 'sentinel', from_address: null, subject: null, received_at: null, has_attachments: false },
    });
    await sentinelHeard;
    t.deepEqual(
      heard.map((e) => (e.type === 'new_message' ? e.message.id : e.type)),
      ['sentinel'],
      'the other deployment heard nothing of it',
    );
  } finally {
    off();
    stream.close();
  }
}

/** A blocking wait in each deployment is woken by its own delivery. */
async function waitWokenByOwnDelivery(t: ExecutionContext, sys: System) {
  const box = await sys.createMailbox('?ttl_minutes=30');
  const waiting = sys.json(`/api/v1/mailboxes/${box.address}/messages?wait=20&subject=wake`, { token: box.token });
  await sys.send({ to: box.address, subject: 'wake up', text: 'x' });
  const r = await waiting;
  t.is(r.status, 200);
  t.is(r.body.length, 1);
}

test('two deployments with different QUEUE_PREFIX on one Redis database never hear each other', async (t) => {
  const a = await startSystem();
  const b = await startSystem();
  try {
    t.not(a.config.redis.prefix, b.config.redis.prefix);
    await deliveredOnlyToItsOwn(t, a, b);
    await deliveredOnlyToItsOwn(t, b, a);
    await waitWokenByOwnDelivery(t, a);
    await waitWokenByOwnDelivery(t, b);
  } finally {
    await b.stop();
    await a.stop();
  }
});

test('two deployments with the same QUEUE_PREFIX on different Redis databases never hear each other (fails on the old channel names)', async (t) => {
  const prefix = uniquePrefix();
  const dbUrl = `${TEST_REDIS_URL.replace(/\/\d*$/, '')}/7`;
  const a = await startSystem({ prefix });
  const b = await startSystem({ prefix, env: { REDIS_URL: dbUrl } });
  try {
    t.is(b.config.redis.db, 7);
    await deliveredOnlyToItsOwn(t, a, b);
    await deliveredOnlyToItsOwn(t, b, a);
    await waitWokenByOwnDelivery(t, a);
    await waitWokenByOwnDelivery(t, b);
  } finally {
    await b.stop();
    await a.stop();
    await dropPrefix(prefix, dbUrl);
  }
});
