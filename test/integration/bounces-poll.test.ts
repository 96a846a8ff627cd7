import anyTest, { type TestFn } from 'ava';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes, randomUUID } from 'node:crypto';
import { ImapFlow } from 'imapflow';
import { pollMailbox, type PollDeps } from '../../src/bounces/poll.js';
import { processBounce } from '../../src/bounces/process.js';
import { generateKey } from '../../src/core/secret-box.js';
import { verpAddress } from '../../src/core/verp.js';
import { bounceProcessorDeps } from '../../src/roles/bounce-deps.js';
import { connectedFixture, type ConnectedFixture } from '../helpers/connected.js';
import type { Dovecot } from '../helpers/dovecot.js';
import { dsn } from '../helpers/dsn.js';
import { insertSentMessage, outboundSnapshot } from '../helpers/outbound-rows.js';
import { call } from '../helpers/tenants.js';

const ALICE = 'alice-Secret-pw-7f3c';
const BOUNCE_PW = 'bounce-Secret-pw-44d0';
const ADDRESS = 'ci@example.org';
const VERP_DOMAIN = 'bounces.example.org';
const SECRET = randomBytes(24).toString('hex');
const CREDENTIALS_KEY = generateKey();

type Ctx = ConnectedFixture & { mailboxId: string; deps: PollDeps };
const test = anyTest as TestFn<Ctx>;
let n = 0;

test.before(async (t) => {
  const fx = await connectedFixture({
    users: [
      { user: 'alice', password: ALICE },
      { user: 'bounces', password: BOUNCE_PW },
    ],
    env: { IMAP_TIMEOUT_MS: '5000', BOUNCE_HMAC_SECRET: SECRET, CREDENTIALS_KEY, BOUNCE_POLL_BATCH: '7' },
  });
  t.context = { ...fx, mailboxId: '', deps: bounceProcessorDeps(fx.sys.deps) };
  t.context.mailboxId = await fx.connect(ADDRESS, 'alice', {
    extra: { bounce_imap: { ...fx.imap('bounces'), verp_domain: VERP_DOMAIN } },
  });
});
test.after.always(async (t) => {
  await t.context.stop?.();
});

const sent = (t: { context: Ctx }, recipient = `r${++n}@dest.example`, sentAt?: Date) =>
  insertSentMessage(t.context.sys.deps.db, {
    mailboxId: t.context.mailboxId,
    recipient,
    verpDomain: VERP_DOMAIN,
    secret: SECRET,
    sentAt,
  }).then((m) => ({ ...m, recipient }));
const seed = (t: { context: Ctx }, raws: Buffer[]) => t.context.dv.seedMaildir('bounces', 'INBOX', raws);
const poll = (t: { context: Ctx }) => pollMailbox(t.context.deps, t.context.mailboxId);

async function folderCounts(dv: Dovecot) {
  const c = new ImapFlow(dv.imapOptions('bounces'));
  await c.connect();
  try {
    const count = async (f: string) => {
      try {
        const s = await c.status(f, { messages: true });
        return s ? (s.messages ?? 0) : 0;
      } catch {
        return 0;
      }
    };
    return {
      inbox: await count('INBOX'),
      processed: await count('Processed-Bounces'),
      rejected: await count('Rejected-Bounces'),
    };
  } finally {
    await c.logout();
  }
}

test.serial('the mailbox shows its bounce inbox without the password; bad settings are refused', async (t) => {
  const { sys, owner } = t.context;
  const got = await call(sys, 'GET', `/api/v1/mailboxes/${ADDRESS}`, { token: owner.apiKey });
  t.is(got.status, 200, got.text);
  t.like(got.body.bounce_imap, { username: 'bounces', folder: 'INBOX', verp_domain: VERP_DOMAIN, last_poll_at: null });
  t.false(got.text.includes(BOUNCE_PW));
  const patch = (body: unknown) => call(sys, 'PATCH', `/api/v1/mailboxes/${ADDRESS}`, { token: owner.apiKey, body });
  const wrong = await patch({ bounce_imap: { password: 'wrong-password-1' } });
  t.is(wrong.status, 422, wrong.text);
  t.is(wrong.body.error.code, 'bounce_imap_login_failed');
  const folder = await patch({ bounce_imap: { folder: 'a\r\nb' } });
  t.is(folder.status, 400);
  t.is(folder.body.error.code, 'invalid_folder');
  const domain = await patch({ bounce_imap: { verp_domain: 'not a host' } });
  t.is(domain.status, 400);
  t.is(domain.body.error.code, 'invalid_body');
  const row = await sys.deps.db('mailboxes').where({ address: ADDRESS }).first();
  t.is(row.bounce_verp_domain, VERP_DOMAIN, 'the stored settings are kept');
  t.false(row.bounce_imap_password_encrypted.toString('latin1').includes(BOUNCE_PW));
});

test.serial(
  'a hard bounce: bounced, suppressed, one event and one report; the DSN moves to Processed-Bounces',
  async (t) => {
    const { sys, dv, owner } = t.context;
    const db = sys.deps.db;
    const m = await sent(t);
    const before = await folderCounts(dv);
    seed(t, [dsn('postfix-hard.eml', { verp: m.verp, rcpt: m.recipient, n: ++n })]);
    const r = await poll(t);
    t.like(r, { mailbox: ADDRESS, fetched: 1, matched: 1, rejected: 0, errors: 0 });
    const row = await db('outbound_messages').where({ id: m.id }).first();
    t.like(row, { status: 'bounced', bounce_type: 'hard' });
    t.true(row.bounce_diagnostic.includes('User unknown'));
    t.truthy(row.bounced_at);
    const sup = await db('suppressions')
      .where({ mailbox_id: t.context.mailboxId, recipient_email: m.recipient })
      .first();
    t.like(sup, { reason: 'hard_bounce', source_message_id: m.id });
    const events = await db('outbound_message_events').where({ outbound_message_id: m.id });
    t.is(events.length, 1);
    t.like(events[0], { type: 'bounced' });
    t.like(events[0].payload, {
      type: 'hard',
      action: 'failed',
      status: '5.1.1',
      source: 'imap',
      remote_mta: 'mx.dest.example',
    });
    const after = await folderCounts(dv);
    t.is(after.processed, before.processed + 1);
    t.is(after.inbox, 0);
    const list = await call(sys, 'GET', `/api/v1/mailboxes/${ADDRESS}/bounces`, { token: owner.apiKey });
    t.is(list.status, 200, list.text);
    t.like(list.body[0], {
      outbound_message_id: m.id,
      recipient: m.recipient,
      class: 'hard',
      status: '5.1.1',
      source: 'imap',
    });
    const mailbox = await call(sys, 'GET', `/api/v1/mailboxes/${ADDRESS}`, { token: owner.apiKey });
    t.truthy(mailbox.body.bounce_imap.last_poll_at);
    t.like(mailbox.body.bounce_imap.last_poll_result, { fetched: 1, matched: 1, rejected: 0, errors: 0 });
  },
);

test.serial('soft, then a later hard DSN upgrades it; a delay and a complaint', async (t) => {
  const db = t.context.sys.deps.db;
  const m = await sent(t);
  seed(t, [dsn('gmail-soft.eml', { verp: m.verp, rcpt: m.recipient, n: ++n })]);
  await poll(t);
  t.like(await db('outbound_messages').where({ id: m.id }).first(), { status: 'bounced', bounce_type: 'soft' });
  t.is(await db('suppressions').where({ recipient_email: m.recipient }).first(), undefined);
  seed(t, [dsn('exchange-hard.eml', { verp: m.verp, rcpt: m.recipient, n: ++n })]);
  await poll(t);
  t.like(await db('outbound_messages').where({ id: m.id }).first(), { status: 'bounced', bounce_type: 'hard' });
  t.like(await db('suppressions').where({ recipient_email: m.recipient }).first(), { reason: 'hard_bounce' });

  const delayed = await sent(t);
  seed(t, [dsn('sendmail-delay.eml', { verp: delayed.verp, rcpt: delayed.recipient, n: ++n })]);
  const complained = await sent(t);
  seed(t, [dsn('arf-complaint.eml', { verp: complained.verp, rcpt: complained.recipient, n: ++n })]);
  const r = await poll(t);
  t.like(r, { matched: 2, rejected: 0 });
  t.like(await db('outbound_messages').where({ id: delayed.id }).first(), { status: 'sent', bounce_type: null });
  t.deepEqual(
    (await db('outbound_message_events').where({ outbound_message_id: delayed.id })).map((e) => e.type),
    ['delivery_delayed'],
  );
  t.like(await db('suppressions').where({ recipient_email: complained.recipient }).first(), {
    reason: 'complaint',
    source_message_id: complained.id,
  });
  t.deepEqual(
    (await db('outbound_message_events').where({ outbound_message_id: complained.id })).map((e) => e.type),
    ['complained'],
  );
});

test.serial('forged DSNs change nothing and go to Rejected-Bounces', async (t) => {
  const { sys, dv } = t.context;
  const db = sys.deps.db;
  const genuine = await sent(t);
  const old = await sent(t, `old${n}@dest.example`, new Date(Date.now() - 31 * 24 * 3600 * 1000));
  const hosted = await sys.createMailbox();
  const hostedRow = await db('mailboxes').where({ address: hosted.address }).first('id');
  const other = await insertSentMessage(db, {
    mailboxId: hostedRow.id,
    recipient: 'x@dest.example',
    verpDomain: VERP_DOMAIN,
    secret: SECRET,
  });
  const flip = (v: string) => v.replace(/\.([0-9a-f])/, (_m, c: string) => `.${c === 'a' ? 'b' : 'a'}`);
  const forged = [
    'someone@example.org', // no VERP
    `bounce+${genuine.id}@${VERP_DOMAIN}`, // unsigned
    flip(genuine.verp), // tampered
    genuine.verp.replace(/[0-9a-f]@/, '@'), // truncated HMAC
    verpAddress(randomUUID(), VERP_DOMAIN, SECRET), // unknown id
    other.verp, // another mailbox's message
    old.verp, // too old
  ];
  const before = await outboundSnapshot(db);
  const counts = await folderCounts(dv);
  seed(
    t,
    forged.map((verp) => dsn('postfix-hard.eml', { verp, rcpt: genuine.recipient, n: ++n })),
  );
  const r = await poll(t);
  t.like(r, { fetched: forged.length, matched: 0, rejected: forged.length, errors: 0 });
  t.deepEqual(await outboundSnapshot(db), before);
  const after = await folderCounts(dv);
  t.is(after.rejected, counts.rejected + forged.length);
  t.is(after.inbox, 0);
});

test.serial('a re-poll and a poll that died after its commit, before its move: each DSN counted once', async (t) => {
  const { sys, mailboxId } = t.context;
  const db = sys.deps.db;
  const m = await sent(t);
  const raw = dsn('qmail-hard.eml', { verp: m.verp, rcpt: m.recipient, n: ++n });
  // the poll that died: its transaction committed, the DSN is still in the inbox
  const first = await processBounce(t.context.deps, { raw, source: 'imap', mailboxId });
  t.like(first, { result: 'matched', duplicate: false });
  seed(t, [raw]);
  const r = await poll(t);
  t.like(r, { fetched: 1, matched: 1, rejected: 0 });
  // and the same DSN delivered into the inbox again (with its own trace fields), polled again
  seed(t, [Buffer.concat([Buffer.from('Received: from mx by bounces; Sun, 6 Dec 2026\r\n'), raw])]);
  t.like(await poll(t), { fetched: 1, matched: 1 });
  t.is((await db('bounce_reports').where({ outbound_message_id: m.id })).length, 1);
  t.is((await db('outbound_message_events').where({ outbound_message_id: m.id })).length, 1);
});

const cli = (t: { context: Ctx }, args: string[]) =>
  new Promise<{ code: number | null; lines: any[]; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/bin/cli.ts', ...args], {
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'test',
        DATABASE_URL: t.context.sys.database.url,
        REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
        QUEUE_PREFIX: t.context.sys.config.redis.prefix,
        CREDENTIALS_KEY,
        BOUNCE_HMAC_SECRET: SECRET,
        CONNECTED_ALLOW_HOSTS: '127.0.0.1',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    void once(child, 'close').then(([code]) =>
      resolve({
        code: code as number | null,
        lines: out
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l)),
        stderr: err,
      }),
    );
  });

test.serial('the CLI and a scheduled poll at once: each DSN once; exit codes', async (t) => {
  const db = t.context.sys.deps.db;
  const messages = await Promise.all(Array.from({ length: 20 }, () => sent(t)));
  seed(
    t,
    messages.map((m) => dsn('exim-hard.eml', { verp: m.verp, rcpt: m.recipient, n: ++n })),
  );
  const [viaCli, direct] = await Promise.all([cli(t, ['bounces:poll-once']), poll(t)]);
  t.is(viaCli.code, 0, viaCli.stderr);
  t.is(viaCli.lines.length, 1);
  t.deepEqual(Object.keys(viaCli.lines[0]).slice(0, 6), ['mailbox', 'fetched', 'matched', 'rejected', 'errors', 'ms']);
  t.is(viaCli.lines[0].matched + direct.matched, 20, JSON.stringify([viaCli.lines[0], direct]));
  const ids = messages.map((m) => m.id);
  t.is((await db('bounce_reports').whereIn('outbound_message_id', ids)).length, 20);
  t.is((await db('outbound_message_events').whereIn('outbound_message_id', ids)).length, 20);

  const usage = await cli(t, ['bounces:poll-once', '--mailbox', 'nobody@example.org']);
  t.is(usage.code, 2);
  // the bounce inbox unreachable: exit 1, the error in its line
  await db('mailboxes').where({ id: t.context.mailboxId }).update({ bounce_imap_port: 1 });
  try {
    const down = await cli(t, ['bounces:poll-once', '--mailbox', ADDRESS]);
    t.is(down.code, 1, down.stderr);
    t.truthy(down.lines[0]?.error);
  } finally {
    await db('mailboxes').where({ id: t.context.mailboxId }).update({ bounce_imap_port: t.context.dv.port });
  }
});

test.serial(
  'one batch (one lookup, one transaction): the same DSN twice is one report; a soft then a hard DSN for one message ends hard',
  async (t) => {
    const db = t.context.sys.deps.db;
    const twice = await sent(t);
    const raw = dsn('postfix-hard.eml', { verp: twice.verp, rcpt: twice.recipient, n: ++n });
    const upgraded = await sent(t);
    seed(t, [
      raw,
      raw,
      dsn('yahoo-soft.eml', { verp: upgraded.verp, rcpt: upgraded.recipient, n: ++n }),
      dsn('sendmail-hard.eml', { verp: upgraded.verp, rcpt: upgraded.recipient, n: ++n }),
    ]);
    const r = await poll(t);
    t.like(r, { fetched: 4, matched: 4, rejected: 0, errors: 0 });
    t.is((await db('bounce_reports').where({ outbound_message_id: twice.id })).length, 1);
    t.deepEqual(
      (await db('outbound_message_events').where({ outbound_message_id: twice.id })).map((e) => e.type),
      ['bounced'],
    );
    t.like(await db('outbound_messages').where({ id: upgraded.id }).first(), {
      status: 'bounced',
      bounce_type: 'hard',
    });
    t.deepEqual(
      // both reports are kept (ids are random UUIDs and one transaction gives both the same received_at: sorted)
      (await db('bounce_reports').where({ outbound_message_id: upgraded.id })).map((b) => b.class).sort(),
      ['hard', 'soft'],
    );
    t.is((await folderCounts(t.context.dv)).inbox, 0);
  },
);

test.serial(
  'a DSN whose report cannot be written: the rest of its batch is written, it stays in the inbox for the next poll',
  async (t) => {
    const db = t.context.sys.deps.db;
    const [a, stuck, b] = [await sent(t), await sent(t), await sent(t)];
    // the database refuses this one message's report (as a broken row would), nothing else
    await db.raw(`create function mw_test_refuse() returns trigger language plpgsql as $$
      begin
        if new.outbound_message_id = '${stuck.id}' then raise exception 'refused by the test'; end if;
        return new;
      end $$`);
    await db.raw(
      'create trigger mw_test_refuse before insert on bounce_reports for each row execute function mw_test_refuse()',
    );
    try {
      seed(
        t,
        [a, stuck, b].map((m) => dsn('gmail-hard.eml', { verp: m.verp, rcpt: m.recipient, n: ++n })),
      );
      const r = await poll(t);
      t.like(r, { fetched: 3, matched: 2, rejected: 0, errors: 1 });
      for (const m of [a, b])
        t.like(await db('outbound_messages').where({ id: m.id }).first(), { status: 'bounced', bounce_type: 'hard' });
      t.like(await db('outbound_messages').where({ id: stuck.id }).first(), { status: 'sent', bounce_type: null });
      t.is((await db('bounce_reports').where({ outbound_message_id: stuck.id })).length, 0);
      t.is((await folderCounts(t.context.dv)).inbox, 1);
    } finally {
      await db.raw('drop trigger mw_test_refuse on bounce_reports');
      await db.raw('drop function mw_test_refuse()');
    }
    t.like(await poll(t), { fetched: 1, matched: 1, errors: 0 });
    t.like(await db('outbound_messages').where({ id: stuck.id }).first(), { status: 'bounced', bounce_type: 'hard' });
    t.is((await folderCounts(t.context.dv)).inbox, 0);
  },
);
