import { verifyVerpAddress, verpAddress } from '../../src/core/verp.js';
import anyTest, { type TestFn } from 'ava';
import { simpleParser } from 'mailparser';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { startSystem, type System } from '../helpers/system.js';
import { call } from '../helpers/tenants.js';
import { eventTypes, outboundEnv, postSend, senderMailbox, sendPath, waitForStatus } from '../helpers/outbound.js';

const test = anyTest as TestFn<{ sys: System; sink: SmtpSink; key: string; address: string }>;

test.before(async (t) => {
  const sink = await startSmtpSink();
  const sys = await startSystem({ env: outboundEnv(sink.url), roles: ['web', 'worker'] });
  const { tenant, address } = await senderMailbox(sys);
  t.context = { sys, sink, key: tenant.apiKey, address };
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
  await t.context.sink?.stop();
});

test.serial(
  '250: sent, events queued → sending → sent; From, Message-ID, envelope sender; Bcc gets it without a Bcc header',
  async (t) => {
    const { sys, sink, key, address } = t.context;
    sink.behave = () => 'accept';
    const r = await postSend(sys, address, key, {
      to: 'Ann <ann@example.org>',
      bcc: ['hidden@example.org'],
      subject: 'Build 42 passed',
      text: 'all green',
      html: '<p>all green</p>',
      from_name: 'CI bot',
      headers: { 'X-Run-Id': '42' },
      attachments: [
        { filename: 'report.txt', content_type: 'text/plain', content_base64: Buffer.from('ok').toString('base64') },
      ],
    });
    t.is(r.status, 202, JSON.stringify(r.body));
    t.regex(r.body.message_id, /^<[0-9a-f-]{36}@mw\.test>$/);
    t.deepEqual(
      r.body.messages.map((m: any) => [m.recipient, m.status]),
      [
        ['ann@example.org', 'queued'],
        ['hidden@example.org', 'queued'],
      ],
    );
    for (const m of r.body.messages) {
      const row = await waitForStatus(sys, m.id, ['sent', 'failed']);
      t.is(row.status, 'sent');
      t.is(row.attempts, 1);
      // a hosted mailbox with a bounce secret (the test system sets BOUNCE_HMAC_SECRET): the signed VERP address
      // of this very message at the first of MAIL_DOMAINS (issue 21)
      t.is(row.envelope_from, verpAddress(m.id, address.split('@')[1]!, sys.config.bounces.hmacSecret!));
      t.deepEqual(verifyVerpAddress(row.envelope_from, [sys.config.bounces.hmacSecret]), { ok: true, id: m.id });
      t.regex(row.smtp_response, /^250 /);
      t.deepEqual(await eventTypes(sys, m.id), ['queued', 'sending', 'sent']);
    }
    await sink.waitFor(
      () => sink.messages.filter((m) => m.messageId === r.body.message_id).length === 2,
      5000,
      'two copies',
    );
    const copies = sink.messages.filter((m) => m.messageId === r.body.message_id);
    t.deepEqual(
      copies
        .map((c) => c.to)
        .flat()
        .sort(),
      ['ann@example.org', 'hidden@example.org'],
    );
    t.true(copies[0]!.raw.equals(copies[1]!.raw), 'every recipient gets the same bytes');
    t.regex(copies[0]!.from, /^bounce\+[0-9a-f-]{36}\.[0-9a-f]{16}@/, 'MAIL FROM is the VERP address');
    t.deepEqual(
      copies.map((c) => c.from).sort(),
      (await Promise.all(r.body.messages.map((m: any) => waitForStatus(sys, m.id, ['sent']))))
        .map((row: any) => row.envelope_from)
        .sort(),
      "each copy's MAIL FROM is its own message's envelope_from",
    );
    const parsed = await simpleParser(copies[0]!.raw);
    t.deepEqual(parsed.from?.value, [{ address, name: 'CI bot' }]);
    t.is(parsed.headers.get('bcc'), undefined);
    t.false(copies[0]!.raw.toString('latin1').toLowerCase().includes('hidden@example.org'));
    t.is(parsed.headers.get('x-run-id'), '42');
    t.is(parsed.attachments[0]?.filename, 'report.txt');

    const one = await call(sys, 'GET', `${sendPath(address)}/${r.body.messages[0].id}`, { token: key });
    t.is(one.status, 200);
    t.is(one.body.status, 'sent');
    t.is(one.body.text, 'all green');
    t.deepEqual(
      one.body.events.map((e: any) => e.type),
      ['queued', 'sending', 'sent'],
    );
    t.regex(one.body.events[2].payload.response, /^250 /);
    t.deepEqual(one.body.attachments, [{ index: 0, filename: 'report.txt', content_type: 'text/plain', size: 2 }]);
    const list = await call(sys, 'GET', `${sendPath(address)}?status=sent&recipient=ANN@example.org`, { token: key });
    t.is(list.status, 200);
    t.deepEqual(
      list.body.map((m: any) => m.id),
      [r.body.messages[0].id],
    );
    t.is(list.body[0].text, undefined, 'list items carry no body');
  },
);

test.serial('451 twice then 250: deferred twice, then sent; attempts 3', async (t) => {
  const { sys, sink, key, address } = t.context;
  sink.behave = (rcpt) => (rcpt === 'grey@example.org' ? { tempfail: 2 } : 'accept');
  const r = await postSend(sys, address, key, { to: 'grey@example.org', subject: 's', text: 't' });
  t.is(r.status, 202);
  const id = r.body.messages[0].id;
  const row = await waitForStatus(sys, id, ['sent', 'failed']);
  t.is(row.status, 'sent');
  t.is(row.attempts, 3);
  t.deepEqual(await eventTypes(sys, id), ['queued', 'sending', 'deferred', 'sending', 'deferred', 'sending', 'sent']);
  const deferred = await sys.deps
    .db('outbound_message_events')
    .where({ outbound_message_id: id, type: 'deferred' })
    .orderBy('id');
  t.is(deferred[0].payload.attempt, 1);
  t.regex(deferred[0].payload.response, /451/);
  t.truthy(Date.parse(deferred[0].payload.next_retry_at));
  t.deepEqual(
    sink.rcpts.filter((x) => x.address === 'grey@example.org').map((x) => x.code),
    [451, 451, 250],
  );
});

test.serial('550: failed at once, never retried', async (t) => {
  const { sys, sink, key, address } = t.context;
  sink.behave = (rcpt) => (rcpt === 'nobody@example.org' ? 'reject' : 'accept');
  const r = await postSend(sys, address, key, { to: 'nobody@example.org', subject: 's', text: 't' });
  const id = r.body.messages[0].id;
  const row = await waitForStatus(sys, id, ['sent', 'failed']);
  t.is(row.status, 'failed');
  t.is(row.attempts, 1);
  t.is(row.error, 'rejected');
  t.deepEqual(await eventTypes(sys, id), ['queued', 'sending', 'failed']);
  const [ev] = await sys.deps.db('outbound_message_events').where({ outbound_message_id: id, type: 'failed' });
  t.regex(ev.payload.response, /550/);
  t.is(ev.payload.reason, 'rejected');
  t.is(sink.rcpts.filter((x) => x.address === 'nobody@example.org').length, 1);
});

test.serial(
  '550 after DATA: failed; a connection dropped after DATA every time: failed retries_exhausted',
  async (t) => {
    const { sys, sink, key, address } = t.context;
    sink.behave = (rcpt) =>
      rcpt === 'data@example.org' ? 'reject-data' : rcpt === 'drop@example.org' ? 'drop' : 'accept';
    const a = await postSend(sys, address, key, { to: 'data@example.org', subject: 's', text: 't' });
    const b = await postSend(sys, address, key, { to: 'drop@example.org', subject: 's', text: 't' });
    const rowA = await waitForStatus(sys, a.body.messages[0].id, ['sent', 'failed']);
    t.is(rowA.status, 'failed');
    t.is(rowA.attempts, 1);
    const rowB = await waitForStatus(sys, b.body.messages[0].id, ['sent', 'failed']);
    t.is(rowB.status, 'failed');
    t.is(rowB.error, 'retries_exhausted');
    t.is(rowB.attempts, 3, 'OUTBOUND_MAX_ATTEMPTS');
    t.deepEqual(await eventTypes(sys, b.body.messages[0].id), [
      'queued',
      'sending',
      'deferred',
      'sending',
      'deferred',
      'sending',
      'failed',
    ]);
  },
);

test.serial('a suppressed recipient in another letter case: suppressed, no RCPT for it, ever', async (t) => {
  const { sys, sink, key, address } = t.context;
  sink.behave = () => 'accept';
  const add = await call(sys, 'POST', `/api/v1/mailboxes/${address}/suppressions`, {
    token: key,
    body: { recipient: 'OK@Example.org', notes: 'asked us to stop' },
  });
  t.is(add.status, 201, JSON.stringify(add.body));
  t.is(add.body.recipient, 'OK@example.org');
  const again = await call(sys, 'POST', `/api/v1/mailboxes/${address}/suppressions`, {
    token: key,
    body: { recipient: 'ok@EXAMPLE.ORG' },
  });
  t.is(again.status, 200, 'the existing row');
  const r = await postSend(sys, address, key, { to: ['ok@example.org', 'fine@example.org'], subject: 's', text: 't' });
  t.deepEqual(
    r.body.messages.map((m: any) => m.status),
    ['suppressed', 'queued'],
  );
  await waitForStatus(sys, r.body.messages[1].id, ['sent']);
  t.deepEqual(await eventTypes(sys, r.body.messages[0].id), ['suppressed']);
  t.false(sink.rcpts.some((x) => x.address.toLowerCase() === 'ok@example.org'));
  const list = await call(sys, 'GET', `/api/v1/mailboxes/${address}/suppressions?recipient=ok@example.org`, {
    token: key,
  });
  t.is(list.body.length, 1);
  t.is(list.body[0].reason, 'manual');
  const del = await call(sys, 'DELETE', `/api/v1/mailboxes/${address}/suppressions/OK%40example.ORG`, { token: key });
  t.is(del.status, 204);
  const gone = await call(sys, 'DELETE', `/api/v1/mailboxes/${address}/suppressions/ok%40example.org`, { token: key });
  t.is(gone.status, 404);
  t.is(gone.body.error.code, 'suppression_not_found');
});
