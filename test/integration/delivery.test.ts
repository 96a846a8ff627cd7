import anyTest, { type TestFn } from 'ava';
import { UnrecoverableError, type Job } from 'bullmq';
import { ulid } from 'ulid';
import { createInboundProcessor } from '../../src/pipeline/processor.js';
import type { InboundJob } from '../../src/queue/payloads.js';
import { createTestDatabase } from '../helpers/db.js';
import { RawSmtp } from '../helpers/smtp-client.js';
import { startSystem, TEST_DOMAIN, type System } from '../helpers/system.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

const test = anyTest as TestFn<{ sys: System }>;
// web + smtp only: pipeline runs are driven directly through the processor (a BullMQ job is just data)
test.before(async (t) => {
  t.context.sys = await startSystem({ roles: ['web', 'smtp'] });
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

const raw = (subject: string, to: string) =>
  `From: s@example.org\r\nTo: ${to}\r\nSubject: ${subject}\r\n\r\nbody of ${subject}\r\n`;
const jobOf = (to: string[], body: string, ingressId = ulid()): Pick<Job<InboundJob>, 'id' | 'data'> => ({
  id: ingressId,
  data: {
    v: 1,
    ingressId,
    source: 'smtp',
    receivedAt: new Date().toISOString(),
    envelope: { from: 's@example.org', to },
    rawBase64: Buffer.from(body).toString('base64'),
  },
});

const usage = async (sys: System, address: string) =>
  sys.deps.db('mailboxes').where({ address }).first('message_count', 'used_bytes', 'dropped_count', 'last_seq');

test('a job processed twice (and five times concurrently) stores the message once and charges once', async (t) => {
  const { sys } = t.context;
  const run = createInboundProcessor(sys.deps);
  const box = await sys.createMailbox();
  const body = raw('twice', box.address);
  const body2 = raw('concurrent', box.address);
  const job = jobOf([box.address], body);
  const first = await run(job);
  const second = await run(job);
  t.like(first[0], { recipient: box.address, duplicate: false });
  t.like(second[0], { recipient: box.address, duplicate: true });
  t.is((first[0] as { messageId: string }).messageId, (second[0] as { messageId: string }).messageId);

  const job2 = jobOf([box.address], body2);
  const outcomes = (await Promise.all(Array.from({ length: 5 }, () => run(job2)))).flat();
  t.is(outcomes.filter((o) => 'duplicate' in o && !o.duplicate).length, 1, 'exactly one run stored it');
  t.is(new Set(outcomes.map((o) => ('messageId' in o ? o.messageId : ''))).size, 1);

  const stored = await sys.deps
    .db('messages')
    .join('mailboxes', 'mailboxes.id', 'messages.mailbox_id')
    .where('mailboxes.address', box.address)
    .select('seq');
  t.deepEqual(stored.map((r: { seq: number }) => r.seq).sort(), [1, 2]);
  t.like(await usage(sys, box.address), {
    message_count: 2,
    used_bytes: Buffer.byteLength(body) + Buffer.byteLength(body2),
    last_seq: 2,
  });
});

test('both raw encodings of a job store the same bytes; a job without raw bytes fails at once, not retried', async (t) => {
  const { sys } = t.context;
  const run = createInboundProcessor(sys.deps);
  const box = await sys.createMailbox();
  const body = raw('encodings', box.address);
  const asBase64 = jobOf([box.address], body);
  const asAscii = jobOf([box.address], body);
  asAscii.data = { ...asAscii.data, rawBase64: undefined, rawAscii: body };
  const stored = [];
  for (const job of [asBase64, asAscii]) {
    const [o] = await run(job);
    stored.push(
      await sys.deps
        .db('messages')
        .where({ id: (o as { messageId: string }).messageId })
        .first('raw', 'subject'),
    );
  }
  t.deepEqual(
    stored.map((m) => m.subject),
    ['encodings', 'encodings'],
  );
  for (const m of stored) t.true(m.raw.subarray(m.raw.length - Buffer.byteLength(body)).equals(Buffer.from(body)));
  const empty = jobOf([box.address], body);
  delete (empty.data as Partial<InboundJob>).rawBase64;
  const err = await t.throwsAsync(run(empty));
  t.true(err instanceof UnrecoverableError, String(err));
  t.regex(err.message, /without raw bytes/);
});

test('dropped, never retried: unknown, deleted, expired, full, too large for the plan', async (t) => {
  const { sys } = t.context;
  const run = createInboundProcessor(sys.deps);
  await sys.deps.db('plans').insert({
    id: 'tiny',
    name: 'Tiny',
    default_ttl_minutes: 5,
    max_ttl_minutes: 5,
    max_messages_per_mailbox: 2,
    max_message_bytes: 400,
  });
  const full = await sys.createMailbox();
  await sys.deps.db('mailboxes').where({ address: full.address }).update({ plan_id: 'tiny' });
  const deleted = await sys.createMailbox();
  await sys.api(`/api/v1/mailboxes/${deleted.address}`, { method: 'DELETE', token: deleted.token });
  const expired = await sys.createMailbox();
  await sys.deps
    .db('mailboxes')
    .where({ address: expired.address })
    .update({ expires_at: sys.deps.db.raw(`now() - interval '50 milliseconds'`) });

  const outcomes = [];
  for (let i = 0; i < 3; i++) outcomes.push(...(await run(jobOf([full.address], raw(`f${i}`, full.address)))));
  outcomes.push(...(await run(jobOf([full.address], raw('big', full.address) + 'x'.repeat(500)))));
  outcomes.push(...(await run(jobOf([`nobody@${TEST_DOMAIN}`, deleted.address, expired.address], raw('misc', 'x')))));
  t.deepEqual(
    outcomes.map((o) => ('dropped' in o ? o.dropped : 'stored')),
    ['stored', 'stored', 'mailbox_full', 'message_too_large', 'unknown_mailbox', 'mailbox_inactive', 'mailbox_expired'],
  );
  t.like(await usage(sys, full.address), { message_count: 2, dropped_count: 2 });
  t.like(await usage(sys, expired.address), { message_count: 0, dropped_count: 1 });
  const box = await sys.json(`/api/v1/mailboxes/${full.address}`, { token: full.token });
  t.is(box.body.dropped_count, 2, 'visible on the mailbox');
  const metrics = await sys.deps.metrics.registry.getSingleMetricAsString('mailwright_messages_dropped_total');
  for (const reason of [
    'mailbox_full',
    'message_too_large',
    'unknown_mailbox',
    'mailbox_inactive',
    'mailbox_expired',
  ]) {
    t.regex(metrics, new RegExp(`reason="${reason}"`));
  }
});

test('malformed MIME never crashes the worker: every message is stored with what could be parsed', async (t) => {
  const { sys } = t.context;
  const run = createInboundProcessor(sys.deps);
  const box = await sys.createMailbox();
  const nested = 'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'.repeat(300) + 'deep\r\n';
  const hostile = [
    'no headers at all, just a line\r\n',
    `Subject: broken multipart\r\nContent-Type: multipart/mixed; boundary="never"\r\n\r\n--wrong\r\nContent-Type: text/plain\r\n\r\nhi\r\n`,
    `Subject: bad base64\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not*base64***\r\n`,
    `Subject: ${'h'.repeat(100_000)}\r\n\r\nlong header\r\n`,
    `Subject: nul\u0000bytes\r\nFrom: \u0000<>\r\n\r\n\u0000\u0001\u0002\r\n`,
    `Subject: deep\r\n${nested}`,
    `Subject: =?utf-8?B?////?= =?bogus-charset?Q?=FF?=\r\nContent-Type: text/plain; charset=does-not-exist\r\n\r\n\xff\xfe\r\n`,
  ];
  for (const body of hostile) {
    const [o] = await run(jobOf([box.address], body));
    t.true(o !== undefined && 'messageId' in o && !o.duplicate, `stored: ${body.slice(0, 30)}`);
  }
  const list = await sys.waitForMessages(box.address, box.token, hostile.length);
  t.is(list.length, hostile.length);
  for (const item of list) {
    const full = await sys.json(`/api/v1/mailboxes/${box.address}/messages/${item.id}`, { token: box.token });
    t.is(full.status, 200);
  }
});

test('Postgres unreachable, then back: the job retries and the message is delivered once', async (t) => {
  const database = await createTestDatabase();
  const proxy = await startTcpProxy(5432);
  const viaProxy = new URL(database.url);
  viaProxy.port = String(proxy.port);
  const sys = await startSystem({
    database,
    roles: ['smtp', 'worker'],
    env: { DATABASE_URL: viaProxy.toString(), DELIVERY_BACKOFF_MS: '100' },
  });
  try {
    const [{ id: mailboxId }] = await sys.deps
      .db('mailboxes')
      .insert({
        address: `pgdown@${TEST_DOMAIN}`,
        plan_id: 'anonymous',
        expires_at: sys.deps.db.raw(`now() + interval '10 minutes'`),
      })
      .returning('id');
    await proxy.cut();
    const r = await RawSmtp.sendOnce(
      sys.smtpPort,
      's@example.org',
      [`pgdown@${TEST_DOMAIN}`],
      raw('while down', `pgdown@${TEST_DOMAIN}`),
    );
    t.regex(r.data, /^250 /, 'SMTP accepts while Postgres is down (the ingress never touches it)');
    const ingressId = /queued as (\S+)/.exec(r.data)![1]!;
    // wait until the job has failed at least once
    const deadline = Date.now() + 15_000;
    for (;;) {
      const job = await sys.deps.queues.inbound.getJob(ingressId);
      if (job && job.attemptsMade >= 1) break;
      if (Date.now() > deadline) throw new Error('job never attempted');
      await new Promise((res) => setTimeout(res, 50));
    }
    await proxy.restore();
    const direct = (await import('../../src/store/db.js')).createDb({ db: { url: database.url, poolMax: 1 } });
    try {
      const until = Date.now() + 20_000;
      let rows: unknown[] = [];
      while (Date.now() < until) {
        rows = await direct('messages').where({ mailbox_id: mailboxId });
        if (rows.length) break;
        await new Promise((res) => setTimeout(res, 50));
      }
      t.is(rows.length, 1, 'delivered exactly once after Postgres came back');
      const job = await sys.deps.queues.inbound.getJob(ingressId);
      t.true(!job || job.attemptsMade >= 1, 'it took a retry');
    } finally {
      await direct.destroy();
    }
  } finally {
    await sys.stop();
    await proxy.close();
    await database.drop();
  }
});
