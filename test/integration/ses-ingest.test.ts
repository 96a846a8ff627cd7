import anyTest, { type TestFn } from 'ava';
import { ingressIdOf } from '../../src/ingress/ses/handle-sns.js';
import type { SnsMessage } from '../../src/ingress/ses/verify-sns.js';
import { RawSmtp } from '../helpers/smtp-client.js';
import {
  CERT_URL,
  confirmation,
  createSigner,
  notification,
  recordingFetch,
  sesReceipt,
  signed,
  TOPIC,
  type SnsSigner,
} from '../helpers/sns.js';
import { startSystem, type System } from '../helpers/system.js';

const test = anyTest as TestFn<{ sys: System; signer: SnsSigner; calls: string[] }>;

test.before(async (t) => {
  const signer = await createSigner();
  const rec = recordingFetch(signer);
  t.context = {
    signer,
    calls: rec.calls,
    sys: await startSystem({
      env: { QUEUE_KEEP_COMPLETED: '1000', SES_TOPIC_ARNS: `${TOPIC}, arn:aws:sns:eu-west-1:123456789012:spare` },
      web: { snsFetch: rec.fetch },
    }),
  };
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

const post = (sys: System, m: SnsMessage | string, headers: Record<string, string> = {}) =>
  sys.json('/api/v1/ingest/ses', {
    method: 'POST',
    headers: {
      'content-type': 'text/plain; charset=UTF-8',
      ...(typeof m === 'string' ? {} : { 'x-amz-sns-message-type': m.Type }),
      ...headers,
    },
    body: typeof m === 'string' ? m : JSON.stringify(m),
  });

const rawOf = async (sys: System, address: string, token: string, id: string) =>
  Buffer.from(await (await sys.api(`/api/v1/mailboxes/${address}/messages/${id}/raw`, { token })).arrayBuffer());

/** Wait until the pipeline has finished the job of this ingress id (this file keeps completed jobs: QUEUE_KEEP_COMPLETED). */
async function settled(sys: System, ingressId: string, timeoutMs = 10_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const state = await (await sys.deps.queues.inbound.getJob(ingressId))?.getState();
    if (state === 'completed') return;
    if (Date.now() > until) throw new Error(`job ${ingressId} is ${String(state)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const BINARY = Buffer.concat([
  Buffer.from(
    'From: Sender <sender@example.org>\r\nTo: box\r\nSubject: base64 v1\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\ncaf',
  ),
  Buffer.from([0xe9, 0x20, 0xff]),
  Buffer.from('\r\n.dot line\r\n'),
]);
const TEXT = Buffer.from(
  'From: Sender <sender@example.org>\r\nSubject: utf8 v2 ✓\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhéllo wörld\r\n',
  'utf8',
);

test('signed v1 (BASE64) and v2 (UTF8) notifications are accepted and stored byte-exactly', async (t) => {
  const { sys, signer } = t.context;
  const box = await sys.createMailbox();
  const v1 = notification(
    signer,
    sesReceipt({
      recipients: [box.address, 'someone@elsewhere.example'],
      source: 'sender@example.org',
      raw: BINARY,
      encoding: 'BASE64',
    }),
    { SignatureVersion: '1' },
  );
  const v2 = notification(
    signer,
    sesReceipt({ recipients: [box.address], source: 'sender@example.org', raw: TEXT, encoding: 'UTF8' }),
    { SignatureVersion: '2' },
  );
  for (const m of [v1, v2]) {
    const r = await post(sys, m);
    t.is(r.status, 200, JSON.stringify(r.body));
    t.deepEqual(r.body, { status: 'queued', ingress_id: ingressIdOf(m.MessageId) });
  }
  const list = await sys.waitForMessages(box.address, box.token, 2);
  const bySubject = new Map(list.map((m: { subject: string; id: string }) => [m.subject, m.id]));
  t.true((await rawOf(sys, box.address, box.token, bySubject.get('base64 v1')!)).equals(BINARY));
  t.true((await rawOf(sys, box.address, box.token, bySubject.get('utf8 v2 ✓')!)).equals(TEXT));
  const full = await sys.json(`/api/v1/mailboxes/${box.address}/messages/${bySubject.get('base64 v1')}`, {
    token: box.token,
  });
  t.like(full.body, { source: 'ses', envelope_from: 'sender@example.org', text: 'café \u00ff\n.dot line\n' });
});

test('forged, unsigned, untrusted or foreign-topic deliveries are 403 and enqueue nothing', async (t) => {
  const { sys, signer, calls } = t.context;
  const box = await sys.createMailbox();
  const receipt = () => sesReceipt({ recipients: [box.address], source: 's@example.org', raw: TEXT, encoding: 'UTF8' });
  const neverFetched = 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-never.pem';
  const good = notification(signer, receipt());
  const cases: Array<[string, SnsMessage, string]> = [
    ['forged body', { ...good, Message: good.Message.replace('utf8 v2', 'forged') }, 'sns_bad_signature'],
    [
      'wrong signature',
      { ...notification(signer, receipt()), Signature: Buffer.alloc(256, 1).toString('base64') },
      'sns_bad_signature',
    ],
    ['unsigned', { ...notification(signer, receipt()), Signature: '' }, 'sns_unsigned'],
    [
      'unknown SignatureVersion',
      notification(signer, receipt(), { SignatureVersion: '3', SigningCertURL: neverFetched }),
      'sns_unknown_signature_version',
    ],
    [
      'http cert URL',
      notification(signer, receipt(), {
        SigningCertURL: 'http://sns.us-east-1.amazonaws.com/SimpleNotificationService-a.pem',
      }),
      'sns_untrusted_url',
    ],
    [
      'non-.pem cert URL',
      notification(signer, receipt(), {
        SigningCertURL: 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-a.crt',
      }),
      'sns_untrusted_url',
    ],
    [
      'look-alike host',
      notification(signer, receipt(), {
        SigningCertURL: 'https://sns.us-east-1.amazonaws.com.evil.test/SimpleNotificationService-a.pem',
      }),
      'sns_untrusted_url',
    ],
    [
      'S3 host',
      notification(signer, receipt(), {
        SigningCertURL: 'https://s3.amazonaws.com/sns.us-east-1.amazonaws.com/cert.pem',
      }),
      'sns_untrusted_url',
    ],
    [
      'userinfo trick',
      notification(signer, receipt(), { SigningCertURL: 'https://sns.us-east-1.amazonaws.com@evil.test/cert.pem' }),
      'sns_untrusted_url',
    ],
    [
      'unexpected topic',
      notification(signer, receipt(), {
        TopicArn: 'arn:aws:sns:us-east-1:123456789012:someone-else',
        SigningCertURL: neverFetched,
      }),
      'sns_topic_not_allowed',
    ],
  ];
  for (const [name, m, code] of cases) {
    const r = await post(sys, m);
    t.is(r.status, 403, name);
    t.is(r.body.error.code, code, name);
    t.is(await sys.deps.queues.inbound.getJob(ingressIdOf(m.MessageId)), undefined, name);
  }
  const header = await post(sys, notification(signer, receipt()), {
    'x-amz-sns-message-type': 'SubscriptionConfirmation',
  });
  t.is(header.status, 403);
  for (const [name, m] of cases) if (m.SigningCertURL !== CERT_URL) t.false(calls.includes(m.SigningCertURL), name);
  t.false(calls.includes(neverFetched));
  t.is((await sys.json(`/api/v1/mailboxes/${box.address}/messages`, { token: box.token })).body.length, 0);
});

test('the same MessageId delivered 10 times, then 3 times at once, then after the job is gone, is stored once', async (t) => {
  const { sys, signer } = t.context;
  const box = await sys.createMailbox();
  const m = notification(
    signer,
    sesReceipt({ recipients: [box.address], source: 's@example.org', raw: TEXT, encoding: 'BASE64' }),
  );
  const id = ingressIdOf(m.MessageId);
  const ms: number[] = [];
  for (let i = 0; i < 10; i++) {
    const started = process.hrtime.bigint();
    t.like(await post(sys, m), { status: 200, body: { ingress_id: id } });
    ms.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  const warm = ms.slice(1).sort((x, y) => x - y);
  t.log(
    `sequential redeliveries: first ${ms[0]!.toFixed(1)} ms, then median ${warm[4]!.toFixed(1)} ms, max ${warm[8]!.toFixed(1)} ms`,
  );
  const concurrent = await Promise.all([1, 2, 3].map(() => post(sys, m)));
  t.deepEqual(
    concurrent.map((r) => r.status),
    [200, 200, 200],
  );
  await settled(sys, id);
  await (await sys.deps.queues.inbound.getJob(id))!.remove(); // as after BullMQ's retention: only the DB can dedupe now
  t.is((await post(sys, m)).status, 200);
  await settled(sys, id);
  const list = await sys.json(`/api/v1/mailboxes/${box.address}/messages`, { token: box.token });
  t.is(list.body.length, 1);
  t.is((await sys.json(`/api/v1/mailboxes/${box.address}`, { token: box.token })).body.message_count, 1);
});

test('an S3-action receipt is answered 200 but not delivered, and counted', async (t) => {
  const { sys, signer } = t.context;
  const box = await sys.createMailbox();
  const m = notification(
    signer,
    sesReceipt({ recipients: [box.address], source: 's@example.org', raw: TEXT, encoding: 'UTF8', action: 'S3' }),
  );
  const r = await post(sys, m);
  t.deepEqual([r.status, r.body], [200, { status: 'not_delivered', reason: 's3_action' }]);
  t.is(await sys.deps.queues.inbound.getJob(ingressIdOf(m.MessageId)), undefined);
  const metric = await sys.deps.metrics.registry.getSingleMetric('mailwright_ses_notifications_total')!.get();
  t.true((metric.values.find((v) => v.labels.outcome === 's3_action')?.value ?? 0) >= 1);
});

test('a signed SubscriptionConfirmation is confirmed through the fetcher; an unsubscribe is only logged', async (t) => {
  const { sys, signer, calls } = t.context;
  const sub = confirmation(signer, 'SubscriptionConfirmation');
  t.deepEqual((await post(sys, sub)).body, { status: 'subscription_confirmed' });
  t.true(calls.includes(sub.SubscribeURL!));
  const forged = {
    ...confirmation(signer, 'SubscriptionConfirmation', {
      Token: 'b'.repeat(64),
      SubscribeURL: `https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=${TOPIC}&Token=forged`,
    }),
    Message: 'changed',
  };
  t.is((await post(sys, forged)).status, 403);
  t.false(calls.includes(forged.SubscribeURL!));
  const unsub = confirmation(signer, 'UnsubscribeConfirmation', {
    Token: 'c'.repeat(64),
    SubscribeURL: `https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=${TOPIC}&Token=unsub`,
  });
  t.deepEqual((await post(sys, unsub)).body, { status: 'unsubscribe_logged' });
  t.false(calls.includes(unsub.SubscribeURL!));
});

test('malformed requests: not JSON 400, too large 413, wrong method 405, no bearer needed', async (t) => {
  const { sys, signer } = t.context;
  t.like(await post(sys, 'not json'), { status: 400, body: { error: { code: 'invalid_json' } } });
  const huge = 'x'.repeat(sys.config.ses.maxBodyBytes + 1);
  t.like(await post(sys, huge), { status: 413, body: { error: { code: 'payload_too_large' } } });
  t.is((await sys.api('/api/v1/ingest/ses')).status, 405);
  const json = notification(signer, 'not an SES receipt');
  const r = await post(sys, json, { 'content-type': 'application/json' });
  t.deepEqual([r.status, r.body], [200, { status: 'not_delivered', reason: 'not_a_receipt' }]);
  t.is(
    (await post(sys, signed(signer, { ...json, TopicArn: 'arn:aws:sns:eu-west-1:123456789012:spare' }))).status,
    200,
  );
});

// SNS delivers a Message of at most 256 KiB, JSON-escaped inside the body: only " and \ are escaped
// (SES writes compact JSON, SNS leaves "/" alone), so the body is at most twice the Message plus the
// envelope. With SES's default UTF8 encoding a mail of quotes comes close: each " is \" in the Message
// and \\\" in the body. A 413 is final for SNS (4xx are not retried), so the default must take it.
const SNS_MAX_MESSAGE_BYTES = 256 * 1024;

test('the default body limit takes the largest notification SNS can deliver and refuses bodies SNS never sends', async (t) => {
  const { sys, signer } = t.context;
  const box = await sys.createMailbox();
  const receipt = (body: string) =>
    sesReceipt({
      recipients: [box.address],
      source: 's@example.org',
      raw: Buffer.from(`Subject: quotes\r\n\r\n${body}`),
      encoding: 'UTF8',
    });
  const quotes = Math.floor((SNS_MAX_MESSAGE_BYTES - JSON.stringify(receipt('')).length) / 2);
  const m = notification(signer, receipt('"'.repeat(quotes)));
  t.true(m.Message.length <= SNS_MAX_MESSAGE_BYTES && m.Message.length > SNS_MAX_MESSAGE_BYTES - 2);
  const body = JSON.stringify(m);
  t.true(body.length > 2 * SNS_MAX_MESSAGE_BYTES, `body ${body.length} bytes`);
  t.true(body.length <= sys.config.ses.maxBodyBytes);
  t.like(await post(sys, m), { status: 200, body: { status: 'queued' } });

  // more than twice the largest Message plus a generous envelope is never an SNS delivery: refused unread
  t.like(await post(sys, 'x'.repeat(2 * SNS_MAX_MESSAGE_BYTES + 16 * 1024 + 1)), {
    status: 413,
    body: { error: { code: 'payload_too_large' } },
  });
});

test('the same message by SES and by SMTP gives identical API output (but ids, times and source)', async (t) => {
  const { sys, signer } = t.context;
  const box = await sys.createMailbox();
  const raw = Buffer.from(
    [
      'From: "Ada L." <ada@example.org>',
      `To: ${box.address}`,
      'Cc: other@example.org',
      'Subject: same either way',
      'Message-ID: <same-1@example.org>',
      'Date: Mon, 23 Nov 2026 10:00:00 +0000',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'hello ✓',
      '--b1',
      'Content-Type: application/octet-stream',
      'Content-Disposition: attachment; filename="a.bin"',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from([0, 1, 2, 250]).toString('base64'),
      '--b1--',
      '',
    ].join('\r\n'),
    'utf8',
  );
  const smtp = await RawSmtp.sendOnce(sys.smtpPort, 'ada@example.org', [box.address], raw);
  t.regex(smtp.data, /^250 /);
  t.is(
    (
      await post(
        sys,
        notification(
          signer,
          sesReceipt({ recipients: [box.address], source: 'ada@example.org', raw, encoding: 'BASE64' }),
        ),
      )
    ).status,
    200,
  );
  const list = await sys.waitForMessages(box.address, box.token, 2);
  const [a, b] = await Promise.all(
    list.map(
      async (m: { id: string }) =>
        (await sys.json(`/api/v1/mailboxes/${box.address}/messages/${m.id}`, { token: box.token })).body,
    ),
  );
  t.deepEqual([a.source, b.source].sort(), ['ses', 'smtp']);
  const strip = ({ id, cursor, received_at, source, ...rest }: Record<string, unknown>) => rest;
  t.deepEqual(strip(a), strip(b));
  t.true((await rawOf(sys, box.address, box.token, a.id)).equals(await rawOf(sys, box.address, box.token, b.id)));
  t.true((await rawOf(sys, box.address, box.token, a.id)).equals(raw));
});
