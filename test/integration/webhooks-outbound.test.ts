import anyTest, { type TestFn } from 'ava';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { startSystem, type System } from '../helpers/system.js';
import { call } from '../helpers/tenants.js';
import { outboundEnv, postSend, senderMailbox, waitForStatus } from '../helpers/outbound.js';
import { startReceiver, type Receiver } from '../helpers/webhook-receiver.js';

// outbound.* webhook deliveries are enqueued by the writer of their event after its commit (the send API, the
// outbound worker), not left to the webhooks scheduler: here the scheduler never re-adds anything (its interval
// and the overdue threshold are an hour), so a delivery that arrives was enqueued by the writer.

const test = anyTest as TestFn<{ sys: System; sink: SmtpSink; rx: Receiver; key: string; address: string }>;
const HOUR = '3600000';

test.before(async (t) => {
  const sink = await startSmtpSink();
  const rx = await startReceiver();
  const sys = await startSystem({
    roles: ['web', 'worker'],
    env: outboundEnv(sink.url, {
      WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
      WEBHOOK_SWEEP_INTERVAL_MS: HOUR,
      WEBHOOK_OVERDUE_MS: HOUR,
    }),
  });
  const { tenant, address } = await senderMailbox(sys);
  const r = await call(sys, 'PUT', `/api/v1/mailboxes/${address}/webhook`, {
    token: tenant.apiKey,
    body: { url: rx.url('/outbound') },
  });
  if (r.status !== 201) throw new Error(`PUT webhook: ${r.status} ${r.text}`);
  t.context = { sys, sink, rx, key: tenant.apiKey, address };
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
  await t.context.sink?.stop();
  await t.context.rx?.close();
});

const bodies = (rx: Receiver) =>
  rx.received.map((r) => JSON.parse(r.body) as { type: string; data: { outbound: { id: string } } });

test.serial(
  'a 50-recipient send: 49 outbound.queued, 1 outbound.suppressed and 49 outbound.sent delivered without the scheduler',
  async (t) => {
    const { sys, sink, rx, key, address } = t.context;
    sink.behave = () => 'accept';
    const { id: mailboxId } = await sys.deps.db('mailboxes').where({ address }).first('id');
    await sys.deps
      .db('suppressions')
      .insert({ mailbox_id: mailboxId, recipient_email: 'r0@example.org', reason: 'manual' });
    const to = Array.from({ length: 50 }, (_, i) => `r${i}@example.org`);
    const r = await postSend(sys, address, key, { to, subject: 'fan-out', text: 'hello' });
    t.is(r.status, 202, JSON.stringify(r.body));
    const ids: string[] = r.body.messages.map((m: { id: string }) => m.id);
    const events = await sys.deps
      .db('events as e')
      .join('outbound_message_events as o', 'o.id', 'e.outbound_message_event_id')
      .whereIn('o.outbound_message_id', ids)
      .select('e.type');
    t.is(events.filter((e) => e.type === 'outbound.queued').length, 49, 'one queued event per queued recipient');
    t.is(events.filter((e) => e.type === 'outbound.suppressed').length, 1);

    for (const id of ids.slice(1)) t.is((await waitForStatus(sys, id, ['sent', 'failed'])).status, 'sent');
    await rx.waitFor(99, 20_000);
    const got = bodies(rx);
    const count = (type: string) => new Set(got.filter((b) => b.type === type).map((b) => b.data.outbound.id)).size;
    t.is(count('outbound.queued'), 49);
    t.is(count('outbound.suppressed'), 1);
    t.is(count('outbound.sent'), 49);
    // the receiver answered each; the last attempts are recorded just after: every delivery ends delivered
    const until = Date.now() + 10_000;
    let open = -1;
    while (open !== 0 && Date.now() < until) {
      const [row] = await sys.deps
        .db('webhook_deliveries')
        .whereNot('status', 'delivered')
        .count<{ n: string }[]>({ n: '*' });
      open = Number(row!.n);
      if (open) await new Promise((resolve) => setTimeout(resolve, 25));
    }
    t.is(open, 0, 'every delivery delivered');
  },
);

test.serial('the worker enqueues outbound.failed after its commit (a 5xx from the relay)', async (t) => {
  const { sys, sink, rx, key, address } = t.context;
  sink.behave = () => 'reject';
  const r = await postSend(sys, address, key, { to: 'nobody@example.org', subject: 'refused', text: 'x' });
  t.is(r.status, 202, JSON.stringify(r.body));
  const id: string = r.body.messages[0].id;
  t.is((await waitForStatus(sys, id, ['sent', 'failed'])).status, 'failed');
  const until = Date.now() + 20_000;
  while (!bodies(rx).some((b) => b.type === 'outbound.failed' && b.data.outbound.id === id)) {
    if (Date.now() > until) throw new Error('no outbound.failed webhook');
    await rx.waitFor(rx.received.length + 1, until - Date.now());
  }
  t.pass();
});
