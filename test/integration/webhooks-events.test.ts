import anyTest, { type TestFn } from 'ava';
import { createLogger } from '../../src/core/log.js';
import { signTrackingToken } from '../../src/core/tracking-token.js';
import { sweepExpired } from '../../src/maintenance/sweep.js';
import { createInboundProcessor } from '../../src/pipeline/processor.js';
import { lifecycleStore } from '../../src/store/lifecycle.js';
import { recordOutboundWebhookEvents } from '../../src/store/outbound-webhook-events.js';
import { enqueueWebhookDeliveries } from '../../src/queue/webhook-jobs.js';
import { eventually } from '../helpers/events.js';
import { startReceiver, type Receiver } from '../helpers/webhook-receiver.js';
import { startSystem, type System } from '../helpers/system.js';

const SECRET = 't'.repeat(40);
const test = anyTest as TestFn<{ sys: System; rx: Receiver }>;

test.before(async (t) => {
  const rx = await startReceiver();
  const sys = await startSystem({
    env: {
      WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
      TRACKING_HMAC_SECRET: SECRET,
      SWEEP_INTERVAL_MS: '3600000',
      WEBHOOK_OVERDUE_MS: '500',
      WEBHOOK_SWEEP_INTERVAL_MS: '300',
    },
  });
  t.context = { sys, rx };
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
  await t.context.rx?.close();
});

async function hooked(sys: System, rx: Receiver, path: string) {
  const box = await sys.createMailbox();
  const r = await sys.json(`/api/v1/mailboxes/${box.address}/webhook`, {
    method: 'PUT',
    token: box.token,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ url: rx.url(path) }),
  });
  if (r.status !== 201) throw new Error(`PUT webhook: ${r.status}`);
  const { id } = await sys.deps.db('mailboxes').where({ address: box.address }).first('id');
  return { ...box, id: id as string };
}
const eventsOf = (sys: System, mailboxId: string, type: string) =>
  sys.deps.db('events').where({ mailbox_id: mailboxId, type }).select('*');

test('a re-run inbound job writes one message.received event and one delivery', async (t) => {
  const { sys, rx } = t.context;
  const box = await hooked(sys, rx, '/rerun');
  const process = createInboundProcessor(sys.deps);
  const raw = `From: a@example.org\r\nTo: ${box.address}\r\nSubject: twice\r\n\r\nbody\r\n`;
  const job = {
    id: 'job-rerun',
    data: {
      v: 1 as const,
      ingressId: 'rerun-ingress-1',
      source: 'smtp' as const,
      receivedAt: new Date().toISOString(),
      envelope: { from: 'a@example.org', to: [box.address] },
      rawAscii: raw,
    },
  };
  const [first] = await process(job);
  const [second] = await process(job);
  t.like(second, { duplicate: true, messageId: (first as { messageId: string }).messageId });
  const events = await eventsOf(sys, box.id, 'message.received');
  t.is(events.length, 1);
  t.is(events[0].message_id, (first as { messageId: string }).messageId);
  t.is((await sys.deps.db('webhook_deliveries').where({ event_id: events[0].id })).length, 1);
  await eventually(async () => rx.received.find((r) => r.path === '/rerun'));
  await new Promise((r) => setTimeout(r, 300));
  t.is(rx.received.filter((r) => r.path === '/rerun').length, 1);
});

test.serial('mailbox.expired: one event whether the job or the sweep sees the expiry, delivered once', async (t) => {
  const { sys, rx } = t.context;
  const box = await hooked(sys, rx, '/expired');
  await sys.deps
    .db('mailboxes')
    .where({ id: box.id })
    .update({ expires_at: sys.deps.db.raw(`now() - interval '1 second'`) });
  const lifecycle = lifecycleStore(sys.deps.db);
  const byJob = await lifecycle.expireOne(box.id);
  t.truthy(byJob);
  t.is(byJob!.webhookDeliveries.length, 1);
  t.is(await lifecycle.expireOne(box.id), undefined);
  // the sweep runs too (as if the job's commit raced it): it finds nothing left to expire
  const swept = await sweepExpired({
    config: sys.config,
    log: createLogger(sys.config, 'test'),
    lifecycle,
    publisher: sys.deps.publisher,
    queues: sys.deps.queues,
  });
  t.true(swept.expired >= 0);
  const events = await eventsOf(sys, box.id, 'mailbox.expired');
  t.is(events.length, 1);
  t.like(events[0].data, { reason: 'expired' });
  // the job path enqueues after commit; here the scheduler re-adds the overdue delivery
  const got = await eventually(async () => rx.received.find((r) => r.path === '/expired'), 10_000);
  const payload = JSON.parse(got.body);
  t.is(payload.type, 'mailbox.expired');
  t.deepEqual(Object.keys(payload.data).sort(), ['expires_at', 'reason']);
});

test.serial(
  'the sweep alone records mailbox.expired for every overdue mailbox and enqueues its delivery',
  async (t) => {
    const { sys, rx } = t.context;
    const box = await hooked(sys, rx, '/swept');
    await sys.deps
      .db('mailboxes')
      .where({ id: box.id })
      .update({ expires_at: sys.deps.db.raw(`now() - interval '1 second'`) });
    const swept = await sweepExpired({
      config: sys.config,
      log: createLogger(sys.config, 'test'),
      lifecycle: lifecycleStore(sys.deps.db),
      publisher: sys.deps.publisher,
      queues: sys.deps.queues,
    });
    t.true(swept.expired >= 1);
    t.is((await eventsOf(sys, box.id, 'mailbox.expired')).length, 1);
    const got = await eventually(async () => rx.received.find((r) => r.path === '/swept'));
    t.is(JSON.parse(got.body).type, 'mailbox.expired');
  },
);

async function outboundMessage(sys: System, mailboxId: string, recipient = 'ann@example.org') {
  const [send] = await sys.deps
    .db('outbound_sends')
    .insert({
      mailbox_id: mailboxId,
      message_id: '<s1@mw.test>',
      subject: 'Build 42 passed',
      text_body: 'x',
      track_opens: true,
      track_clicks: true,
    })
    .returning('id');
  const [m] = await sys.deps
    .db('outbound_messages')
    .insert({
      send_id: send.id,
      mailbox_id: mailboxId,
      recipient_email: recipient,
      recipient_type: 'to',
      position: 0,
      subject: 'Build 42 passed',
      message_id: '<s1@mw.test>',
      status: 'sent',
      track_opens: true,
      track_clicks: true,
    })
    .returning('id');
  return m.id as string;
}

test('outbound rows: one outbound.* event each (re-recording is a no-op), delivered with the mapped payload', async (t) => {
  const { sys, rx } = t.context;
  const box = await hooked(sys, rx, '/outbound');
  const messageId = await outboundMessage(sys, box.id);
  const [sent, sending] = await sys.deps
    .db('outbound_message_events')
    .insert([
      { outbound_message_id: messageId, type: 'sent', payload: JSON.stringify({ response: '250 2.0.0 OK' }) },
      { outbound_message_id: messageId, type: 'sending', payload: '{}' },
    ])
    .returning(['id', 'outbound_message_id', 'type', 'occurred_at', 'payload']);
  const recorded = await sys.deps.db.transaction((trx) => recordOutboundWebhookEvents(trx, [sent, sending]));
  t.is(recorded.length, 1, 'sending is not a webhook event');
  t.truthy(recorded[0]?.deliveryId);
  t.deepEqual(await recordOutboundWebhookEvents(sys.deps.db, [sent]), [], 'the same row again: no second event');
  t.is((await eventsOf(sys, box.id, 'outbound.sent')).length, 1);
  await enqueueWebhookDeliveries(sys.deps.queues.webhooks, [recorded[0]!.deliveryId!]);
  const got = await eventually(async () => rx.received.find((r) => r.path === '/outbound'));
  t.deepEqual(JSON.parse(got.body).data, {
    outbound: {
      id: messageId,
      recipient: 'ann@example.org',
      subject: 'Build 42 passed',
      message_id: '<s1@mw.test>',
      status: 'sent',
    },
  });
});

test('tracking: the pixel records opened (first sets opened_at, one a minute), a click redirects exactly; HEAD records nothing', async (t) => {
  const { sys, rx } = t.context;
  const box = await hooked(sys, rx, '/tracked');
  const messageId = await outboundMessage(sys, box.id, 'bob@example.org');
  const open = signTrackingToken(SECRET, 'open', messageId);
  const head = await sys.api(`/t/o/${open}`, { method: 'HEAD' });
  t.is(head.status, 200);
  t.is(
    (await sys.deps.db('outbound_message_events').where({ outbound_message_id: messageId, type: 'opened' })).length,
    0,
  );

  const pixel = await sys.api(`/t/o/${open}`, { headers: { 'user-agent': 'Mozilla/5.0 TestMail' } });
  t.is(pixel.status, 200);
  t.is(pixel.headers.get('content-type'), 'image/gif');
  t.regex(pixel.headers.get('cache-control') ?? '', /no-store/);
  t.is(
    Buffer.from(await pixel.arrayBuffer())
      .subarray(0, 6)
      .toString(),
    'GIF89a',
  );
  await sys.api(`/t/o/${open}`);
  const opened = await sys.deps.db('outbound_message_events').where({ outbound_message_id: messageId, type: 'opened' });
  t.is(opened.length, 1, 'one opened a minute');
  t.deepEqual(opened[0].payload, { user_agent: 'Mozilla/5.0 TestMail', first: true });
  t.truthy((await sys.deps.db('outbound_messages').where({ id: messageId }).first('opened_at')).opened_at);

  const dest = 'https://example.org/a%20b?x=1&y=2#frag';
  const click = signTrackingToken(SECRET, 'click', messageId, dest);
  const r = await sys.api(`/t/c/${click}`, { redirect: 'manual' });
  t.is(r.status, 302);
  t.is(r.headers.get('location'), dest);
  const clickedHead = await sys.api(`/t/c/${click}`, { method: 'HEAD', redirect: 'manual' });
  t.is(clickedHead.status, 302);
  const clicked = await sys.deps
    .db('outbound_message_events')
    .where({ outbound_message_id: messageId, type: 'clicked' });
  t.is(clicked.length, 1, 'HEAD recorded nothing');
  t.deepEqual(clicked[0].payload, { user_agent: 'node', first: true, url: dest });

  const types = await eventually(async () => {
    const got = rx.received.filter((x) => x.path === '/tracked').map((x) => JSON.parse(x.body));
    return got.length >= 2 ? got : undefined;
  });
  t.deepEqual(types.map((p) => p.type).sort(), ['outbound.clicked', 'outbound.opened']);
  t.like(types.find((p) => p.type === 'outbound.clicked').data, { url: dest, first: true });
});

test('tracking: a tampered or foreign token is a 404 without Location', async (t) => {
  const { sys } = t.context;
  const id = '0b0e5c3e-5a43-4c8f-9b62-2a4e1f6f0c11';
  const click = signTrackingToken(SECRET, 'click', id, 'https://example.org/');
  const tampered = click.slice(0, 5) + (click[5] === 'A' ? 'B' : 'A') + click.slice(6);
  for (const path of [
    `/t/c/${tampered}`,
    `/t/c/${signTrackingToken('o'.repeat(40), 'click', id, 'https://evil.example/')}`,
    `/t/o/${click}`,
    '/t/c/x',
  ]) {
    const r = await sys.api(path, { redirect: 'manual' });
    t.is(r.status, 404, path);
    t.is(r.headers.get('location'), null, path);
    t.is(((await r.json()) as { error: { code: string } }).error.code, 'not_found');
  }
});

test('tracking caps: at most 100 opened + clicked events per message', async (t) => {
  const { sys, rx } = t.context;
  const box = await hooked(sys, rx, '/capped');
  const messageId = await outboundMessage(sys, box.id, 'cap@example.org');
  const click = signTrackingToken(SECRET, 'click', messageId, 'https://example.org/');
  for (let i = 0; i < 104; i++) {
    const r = await sys.api(`/t/c/${click}`, { redirect: 'manual' });
    t.is(r.status, 302);
  }
  const n = (await sys.deps.db('outbound_message_events').where({ outbound_message_id: messageId })).length;
  t.is(n, 100);
});
