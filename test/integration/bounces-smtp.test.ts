import anyTest, { type TestFn } from 'ava';
import { randomBytes, randomUUID } from 'node:crypto';
import { verpAddress } from '../../src/core/verp.js';
import { dsn } from '../helpers/dsn.js';
import { insertSentMessage, outboundSnapshot } from '../helpers/outbound-rows.js';
import { RawSmtp } from '../helpers/smtp-client.js';
import { startSystem, TEST_DOMAIN, type System } from '../helpers/system.js';

const SECRET = randomBytes(24).toString('hex');
const test = anyTest as TestFn<{ sys: System; mailboxId: string; token: string; address: string }>;

test.before(async (t) => {
  const sys = await startSystem({ env: { BOUNCE_HMAC_SECRET: SECRET } });
  const box = await sys.createMailbox();
  const row = await sys.deps.db('mailboxes').where({ address: box.address }).first('id');
  t.context = { sys, mailboxId: row.id, token: box.token, address: box.address };
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

/** Poll the database until `check` holds (the worker commits asynchronously after the 250). */
async function eventually<T>(read: () => Promise<T>, check: (v: T) => boolean, ms = 15_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (check(v)) return v;
    if (Date.now() > until) throw new Error(`not within ${ms} ms: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every job of the inbound queue done (the worker answered the job the last 250 queued). */
const drained = (sys: System) =>
  eventually(
    () => sys.deps.queues.inbound.getJobCounts('waiting', 'active', 'delayed', 'prioritized'),
    (c) => Object.values(c).every((n) => n === 0),
  );

test.serial(
  'a hard DSN to a VERP address at MAIL_DOMAINS: bounced and suppressed; sent twice, one report',
  async (t) => {
    const { sys, mailboxId } = t.context;
    const db = sys.deps.db;
    const m = await insertSentMessage(db, {
      mailboxId,
      recipient: 'ann@dest.example',
      verpDomain: TEST_DOMAIN,
      secret: SECRET,
    });
    const raw = dsn('gmail-hard.eml', { verp: m.verp, rcpt: 'ann@dest.example' });
    const first = await RawSmtp.sendOnce(sys.smtpPort, '', [m.verp], raw);
    t.true(first.rcpts[0]?.startsWith('250'), first.rcpts[0]);
    t.true(first.data.startsWith('250'), first.data);
    const sup = await eventually(
      () => db('suppressions').where({ mailbox_id: mailboxId, recipient_email: 'ann@dest.example' }).first(),
      (s) => s !== undefined,
    );
    t.like(sup, { reason: 'hard_bounce', source_message_id: m.id });
    t.like(await db('outbound_messages').where({ id: m.id }).first(), { status: 'bounced', bounce_type: 'hard' });
    // the same DSN again (a job that ran twice, a retransmission): one report, one event
    await RawSmtp.sendOnce(sys.smtpPort, '', [m.verp.toUpperCase()], raw);
    await eventually(
      () => sys.deps.metrics.registry.getSingleMetricAsString('mailwright_bounce_matched_total'),
      () => true,
      0,
    );
    const reports = await eventually(
      async () => (await db('bounce_reports').where({ outbound_message_id: m.id })).length,
      (n) => n >= 1,
    );
    t.is(reports, 1);
    t.is((await db('outbound_message_events').where({ outbound_message_id: m.id })).length, 1);
    t.like((await db('bounce_reports').where({ outbound_message_id: m.id }).first()) ?? {}, {
      source: 'smtp',
      class: 'hard',
      status: '5.1.1',
    });
    // the DSN is never stored as a mailbox message
    t.is(Number((await db('messages').count<{ n: string }[]>({ n: '*' }))[0]!.n), 0);
  },
);

test.serial('a bounce+ RCPT whose signature fails: 550 5.1.1 at RCPT, nothing queued', async (t) => {
  const { sys } = t.context;
  const id = randomUUID();
  const good = verpAddress(id, TEST_DOMAIN, SECRET);
  for (const rcpt of [
    `bounce+${id}@${TEST_DOMAIN}`,
    good.replace(/\.([0-9a-f])/, (_m, c: string) => `.${c === 'a' ? 'b' : 'a'}`),
    good.replace(/[0-9a-f]@/, '@'),
    verpAddress(id, TEST_DOMAIN, 'another-secret-of-at-least-32-characters'),
  ]) {
    const r = await RawSmtp.sendOnce(sys.smtpPort, '', [rcpt], 'Subject: x\r\n\r\nx\r\n');
    t.regex(r.rcpts[0] ?? '', /^550 5\.1\.1/, rcpt);
    t.is(r.data, '');
  }
});

test.serial('a signed VERP address with an unknown id: accepted, dropped by the worker, nothing written', async (t) => {
  const { sys } = t.context;
  const db = sys.deps.db;
  const before = await outboundSnapshot(db);
  const verp = verpAddress(randomUUID(), TEST_DOMAIN, SECRET);
  const r = await RawSmtp.sendOnce(sys.smtpPort, '', [verp], dsn('postfix-hard.eml', { verp, rcpt: 'x@dest.example' }));
  t.true(r.data.startsWith('250'), r.data);
  await drained(sys);
  const text = await sys.deps.metrics.registry.getSingleMetricAsString('mailwright_bounce_rejected_total');
  t.regex(text, /reason="unknown_id",source="smtp"[^}]*} 1/);
  t.deepEqual(await outboundSnapshot(db), before);
  t.is(Number((await db('messages').count<{ n: string }[]>({ n: '*' }))[0]!.n), 0);
});
