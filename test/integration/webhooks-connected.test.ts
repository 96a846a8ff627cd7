import anyTest, { type TestFn } from 'ava';
import { encodeMessageRef } from '../../src/connected/message-ref.js';
import { InboxWatcher } from '../../src/connected/watcher.js';
import { startDovecot, type Dovecot } from '../helpers/dovecot.js';
import { eventually, listenToMailbox } from '../helpers/events.js';
import { startSystem, type System } from '../helpers/system.js';
import { call, createTenant, type Tenant } from '../helpers/tenants.js';
import { startReceiver, type Receiver } from '../helpers/webhook-receiver.js';

// message.received for a connected mailbox: recorded when the worker's IDLE watcher sees a new INBOX UID (only when
// the mailbox's webhook subscribes), enqueued after that commit (the webhooks scheduler is an hour away here), and
// recorded once per UID however often it is seen (a second watcher, a restart, a lost cursor).

const PASSWORD = 'alice-Hook-pw-5d2e';
const BOX = 'hooks@example.org';
const HOUR = '3600000';

const test = anyTest as TestFn<{ dv: Dovecot; sys: System; rx: Receiver; owner: Tenant; mailboxId: string }>;

const mail = (subject: string) =>
  ['From: Ann <ann@example.net>', `To: ${BOX}`, `Subject: ${subject}`, '', `body of ${subject}`, ''].join('\r\n');

async function watching(sys: System) {
  await eventually(async () => {
    const g = await sys.deps.metrics.connectedWatchers.get();
    return (g.values.find((v) => v.labels.state === 'watching')?.value ?? 0) === 1 ? true : undefined;
  }, 15_000);
}

test.before(async (t) => {
  const dv = await startDovecot({ users: [{ user: 'alice', password: PASSWORD }] });
  const rx = await startReceiver();
  const sys = await startSystem({
    roles: ['web', 'worker'],
    env: {
      CONNECTED_ALLOW_HOSTS: '127.0.0.1',
      WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
      WEBHOOK_SWEEP_INTERVAL_MS: HOUR,
      WEBHOOK_OVERDUE_MS: HOUR,
      IMAP_TIMEOUT_MS: '5000',
      CONNECTED_WATCH_SCAN_MS: '100',
      CONNECTED_WATCH_BACKOFF_MIN_MS: '50',
      CONNECTED_WATCH_BACKOFF_MAX_MS: '500',
    },
  });
  const owner = await createTenant(sys, 'pro');
  const r = await call(sys, 'POST', '/api/v1/mailboxes', {
    token: owner.apiKey,
    body: {
      kind: 'connected',
      address: BOX,
      imap: { host: '127.0.0.1', port: dv.port, tls: 'none', username: 'alice', password: PASSWORD },
    },
  });
  if (r.status !== 201) throw new Error(`create: ${r.status} ${r.text}`);
  const mailboxId = (await sys.deps.stores.mailboxes.findConnected(owner.userId, BOX))!.id;
  t.context = { dv, sys, rx, owner, mailboxId };
  await watching(sys);
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
  await t.context.dv?.stop();
  await t.context.rx?.close();
});

const receivedEvents = (t: { context: { sys: System; mailboxId: string } }) =>
  t.context.sys.deps.db('events').where({ mailbox_id: t.context.mailboxId, type: 'message.received' }).select('*');

test.serial('without a webhook the watcher publishes new_message and records no event', async (t) => {
  const { sys, dv, mailboxId } = t.context;
  const events = await listenToMailbox(sys.config.redis.prefix, mailboxId);
  try {
    const { uid, uidValidity } = await dv.append('alice', 'INBOX', mail('before the webhook'));
    await eventually(async () =>
      events.events.find((e) => e.type === 'new_message' && e.cursor === `${uidValidity}.${uid}`),
    );
    t.deepEqual(await receivedEvents(t), []);
  } finally {
    events.close();
  }
});

test.serial(
  'a new INBOX message is one message.received, delivered without the scheduler; a second watcher records nothing',
  async (t) => {
    const { sys, dv, rx, owner, mailboxId } = t.context;
    const put = await call(sys, 'PUT', `/api/v1/mailboxes/${BOX}/webhook`, {
      token: owner.apiKey,
      body: { url: rx.url('/connected'), events: ['message.received'] },
    });
    t.is(put.status, 201, put.text);
    const raw = mail('watched arrival');
    const { uid, uidValidity } = await dv.append('alice', 'INBOX', raw);
    const id = encodeMessageRef({ folder: 'INBOX', uidValidity: BigInt(uidValidity), uid });

    const [got] = await rx.waitFor(1, 15_000);
    const body = JSON.parse(got!.body);
    t.is(body.type, 'message.received');
    t.is(body.mailbox, BOX);
    t.like(body.data.message, {
      id,
      from_address: 'ann@example.net',
      subject: 'watched arrival',
      has_attachments: false,
      is_read: false,
      folder: 'INBOX',
      size: Buffer.byteLength(raw),
    });
    t.is(
      Object.keys(body.data.message).sort().join(','),
      'folder,from_address,has_attachments,id,is_read,received_at,size,subject',
    );
    t.is((await receivedEvents(t)).length, 1);

    // a second watcher of the same mailbox (another worker, or a restart that lost the cursor) sees the UID again
    const cursorKey = `${sys.config.redis.prefix}:connected:cursor:${mailboxId}`;
    await sys.deps.redis.set(cursorKey, `${uidValidity}.${uid - 1}`);
    const listener = await listenToMailbox(sys.config.redis.prefix, mailboxId);
    const second = new InboxWatcher(
      {
        config: sys.config,
        db: sys.deps.db,
        credentials: sys.config.connected.keyRing,
        log: sys.deps.log,
        publisher: sys.deps.publisher,
        redis: sys.deps.redis,
        metrics: sys.deps.metrics,
        queues: sys.deps.queues,
        findMailbox: (mid) => sys.deps.stores.mailboxes.findById(mid),
      },
      mailboxId,
      'second',
    );
    try {
      second.start();
      // it records before it publishes: once its new_message is out, its recording is committed
      await eventually(
        async () => listener.events.find((e) => e.type === 'new_message' && e.cursor === `${uidValidity}.${uid}`),
        15_000,
      );
    } finally {
      await second.stop();
      listener.close();
    }
    const events = await receivedEvents(t);
    t.is(events.length, 1, 'one event per UID');
    t.is(events[0].message_id, id);
    t.is((await sys.deps.db('webhook_deliveries').where({ event_id: events[0].id })).length, 1);
    t.is(rx.received.length, 1);
  },
);
