import anyTest, { type TestFn } from 'ava';
import { randomBytes } from 'node:crypto';
import { ImapFlow } from 'imapflow';
import { verifyVerpAddress } from '../../src/core/verp.js';
import { connectedFixture, type ConnectedFixture } from '../helpers/connected.js';
import { dsn } from '../helpers/dsn.js';
import { eventTypes, outboundEnv, postSend, senderMailbox, waitForStatus } from '../helpers/outbound.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { RawSmtp } from '../helpers/smtp-client.js';
import { TEST_DOMAIN } from '../helpers/system.js';
import { call } from '../helpers/tenants.js';

/**
 * Issue 21 end to end: a message sent by the outbound worker carries its signed VERP envelope sender; the DSN for
 * it comes back (to our own SMTP with a null sender, or into a connected mailbox's bounce inbox that the worker's
 * scheduled poll reads); the message becomes bounced/hard, the recipient suppressed, and the next send to that
 * recipient is `suppressed` without any RCPT for it at the SMTP server the mailbox sends through.
 */
const SECRET = randomBytes(24).toString('hex');
const ALICE = 'alice-Secret-pw-2b7e';
const BOUNCES = 'bounces-Secret-pw-81c5';
const SMTP_PASSWORD = 'smtp-Secret-pw-5a90';
const VERP_DOMAIN = 'bounces.example.org';

const test = anyTest as TestFn<ConnectedFixture & { relay: SmtpSink; own: SmtpSink & { logins: string[] } }>;

test.before(async (t) => {
  const relay = await startSmtpSink();
  const own = await startSmtpSink({ auth: { username: 'alice', password: SMTP_PASSWORD } });
  try {
    const fx = await connectedFixture({
      users: [
        { user: 'alice', password: ALICE },
        { user: 'bounces', password: BOUNCES },
      ],
      roles: ['web', 'smtp', 'worker'],
      env: outboundEnv(relay.url, { BOUNCE_HMAC_SECRET: SECRET, BOUNCE_POLL_EVERY_MS: '1000' }),
    });
    t.context = { ...fx, relay, own };
  } catch (err) {
    await relay.stop();
    await own.stop();
    throw err;
  }
});
test.after.always(async (t) => {
  await t.context.stop?.();
  await t.context.relay?.stop();
  await t.context.own?.stop();
});

const count = async (c: ImapFlow, folder: string) => {
  const s = await c.status(folder, { messages: true });
  return s ? s.messages : undefined;
};
const rcptsTo = (sink: SmtpSink, address: string) => sink.rcpts.filter((r) => r.address === address).length;

/** The second send: the bounced recipient beside a fresh one; the fresh one sent means the worker is past both. */
async function sendAgain(
  t: { context: ConnectedFixture; is: (a: unknown, b: unknown, m?: string) => void },
  o: { address: string; apiKey: string; bounced: string; fresh: string },
) {
  const r = await postSend(t.context.sys, o.address, o.apiKey, {
    to: [o.bounced, o.fresh],
    subject: 'again',
    text: 't',
  });
  t.is(r.status, 202, r.text);
  const [again, fresh] = r.body.messages as Array<{ id: string; recipient: string; status: string }>;
  t.is(again!.recipient, o.bounced);
  t.is(again!.status, 'suppressed');
  t.is(fresh!.status, 'queued');
  const freshRow = await waitForStatus(t.context.sys, fresh!.id, ['sent', 'failed']);
  t.is(freshRow.status, 'sent', freshRow.smtp_response);
  t.is((await waitForStatus(t.context.sys, again!.id, ['suppressed'])).attempts, 0);
  return { suppressedId: again!.id };
}

test.serial(
  'through our own SMTP: sent with its VERP address, the DSN to bounce+… at MAIL_DOMAINS makes it bounced/hard and suppresses; the next send is suppressed with no RCPT at the relay',
  async (t) => {
    const { sys, relay } = t.context;
    const { tenant, address } = await senderMailbox(sys);
    const sent = await postSend(sys, address, tenant.apiKey, {
      to: 'ann@dest.example',
      subject: 'Build 42',
      text: 't',
    });
    t.is(sent.status, 202, sent.text);
    const id: string = sent.body.messages[0].id;
    const row = await waitForStatus(sys, id, ['sent', 'failed']);
    t.is(row.status, 'sent', row.smtp_response);
    t.deepEqual(verifyVerpAddress(row.envelope_from, [SECRET]), { ok: true, id });
    t.true(row.envelope_from.endsWith(`@${TEST_DOMAIN}`), row.envelope_from);
    const copy = relay.messages.find((m) => m.to.includes('ann@dest.example'));
    t.is(copy?.from, row.envelope_from, 'MAIL FROM at the relay is the VERP address');
    t.is(rcptsTo(relay, 'ann@dest.example'), 1);

    // the remote MTA's DSN, with a null sender, to the VERP address at Mailwright's own SMTP ingress
    const reply = await RawSmtp.sendOnce(
      sys.smtpPort,
      '',
      [row.envelope_from],
      dsn('postfix-hard.eml', { verp: row.envelope_from, rcpt: 'ann@dest.example' }),
    );
    t.true(reply.rcpts[0]?.startsWith('250'), reply.rcpts[0]);
    t.true(reply.data.startsWith('250'), reply.data);
    const bounced = await waitForStatus(sys, id, ['bounced']);
    t.is(bounced.bounce_type, 'hard');
    t.true(bounced.bounce_diagnostic.includes('User unknown'), bounced.bounce_diagnostic);
    t.deepEqual(await eventTypes(sys, id), ['queued', 'sending', 'sent', 'bounced']);
    const mailboxId = (await sys.deps.db('mailboxes').where({ address }).first('id')).id;
    t.like(
      await sys.deps.db('suppressions').where({ mailbox_id: mailboxId, recipient_email: 'ann@dest.example' }).first(),
      {
        reason: 'hard_bounce',
        source_message_id: id,
      },
    );
    t.like(await sys.deps.db('bounce_reports').where({ outbound_message_id: id }).first(), {
      source: 'smtp',
      class: 'hard',
      status: '5.1.1',
    });

    const { suppressedId } = await sendAgain(t, {
      address,
      apiKey: tenant.apiKey,
      bounced: 'ann@dest.example',
      fresh: 'bob@dest.example',
    });
    t.deepEqual(await eventTypes(sys, suppressedId), ['suppressed']);
    t.is(rcptsTo(relay, 'ann@dest.example'), 1, 'no RCPT for the suppressed recipient');
    t.is(rcptsTo(relay, 'bob@dest.example'), 1);
  },
);

test.serial(
  "through a connected mailbox's bounce inbox: sent through its own SMTP with its VERP address, the DSN delivered to the inbox is read by the scheduled poll; bounced/hard, suppressed, the next send is suppressed with no RCPT",
  async (t) => {
    const { sys, dv, owner, own, relay } = t.context;
    const address = 'ci@example.org';
    const mailboxId = await t.context.connect(address, 'alice', {
      extra: {
        smtp: { host: '127.0.0.1', port: own.port, tls: 'none', username: 'alice', password: SMTP_PASSWORD },
        bounce_imap: { ...t.context.imap('bounces'), verp_domain: VERP_DOMAIN },
      },
    });
    const relayed = relay.rcpts.length;
    const sent = await postSend(sys, address, owner.apiKey, {
      to: 'carl@dest.example',
      subject: 'Build 43',
      text: 't',
    });
    t.is(sent.status, 202, sent.text);
    const id: string = sent.body.messages[0].id;
    const row = await waitForStatus(sys, id, ['sent', 'failed']);
    t.is(row.status, 'sent', row.smtp_response);
    t.deepEqual(verifyVerpAddress(row.envelope_from, [SECRET]), { ok: true, id });
    t.true(row.envelope_from.endsWith(`@${VERP_DOMAIN}`), row.envelope_from);
    t.is(own.messages.find((m) => m.to.includes('carl@dest.example'))?.from, row.envelope_from);
    t.is(rcptsTo(own, 'carl@dest.example'), 1);

    // the remote MTA's DSN arrives in the bounce inbox (the MX routes bounce+*@bounces.example.org there)
    await dv.append('bounces', 'INBOX', dsn('exim-hard.eml', { verp: row.envelope_from, rcpt: 'carl@dest.example' }));
    const bounced = await waitForStatus(sys, id, ['bounced'], 30_000);
    t.is(bounced.bounce_type, 'hard');
    t.like(
      await sys.deps.db('suppressions').where({ mailbox_id: mailboxId, recipient_email: 'carl@dest.example' }).first(),
      {
        reason: 'hard_bounce',
        source_message_id: id,
      },
    );
    t.like(await sys.deps.db('bounce_reports').where({ outbound_message_id: id }).first(), {
      source: 'imap',
      class: 'hard',
    });
    const shown = await call(sys, 'GET', `/api/v1/mailboxes/${address}`, { token: owner.apiKey });
    t.truthy(shown.body.bounce_imap.last_poll_at);
    const c = new ImapFlow(dv.imapOptions('bounces'));
    await c.connect();
    try {
      t.is(await count(c, 'Processed-Bounces'), 1);
      t.is(await count(c, 'INBOX'), 0);
    } finally {
      await c.logout();
    }

    const { suppressedId } = await sendAgain(t, {
      address,
      apiKey: owner.apiKey,
      bounced: 'carl@dest.example',
      fresh: 'dora@dest.example',
    });
    t.deepEqual(await eventTypes(sys, suppressedId), ['suppressed']);
    t.is(rcptsTo(own, 'carl@dest.example'), 1, 'no RCPT for the suppressed recipient');
    t.is(rcptsTo(own, 'dora@dest.example'), 1);
    t.is(relay.rcpts.length, relayed, 'a connected mailbox never sends through the relay');
  },
);
