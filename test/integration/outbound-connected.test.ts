import anyTest, { type TestFn } from 'ava';
import { parseAllowList } from '../../src/core/host-allow-list.js';
import { createTransportPool } from '../../src/outbound/transport.js';
import { loadOutboundToSend } from '../../src/store/outbound-delivery.js';
import { connectedFixture, type ConnectedFixture } from '../helpers/connected.js';
import { eventTypes, outboundEnv, postSend, waitForStatus } from '../helpers/outbound.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { call } from '../helpers/tenants.js';

const PASSWORD = 'imap-Secret-pw-4d1a';
const SMTP_PASSWORD = 'smtp-Secret-pw-9e27';

/** A connected mailbox sends through its own SMTP account (AUTH with its stored password), never the relay. */
const test = anyTest as TestFn<ConnectedFixture & { own: SmtpSink & { logins: string[] }; relay: SmtpSink }>;

test.before(async (t) => {
  const own = await startSmtpSink({ auth: { username: 'alice', password: SMTP_PASSWORD } });
  const relay = await startSmtpSink();
  try {
    const fx = await connectedFixture({
      users: [{ user: 'alice', password: PASSWORD }],
      roles: ['web', 'worker'],
      env: outboundEnv(relay.url, { IMAP_TIMEOUT_MS: '3000' }),
    });
    t.context = { ...fx, own, relay };
  } catch (err) {
    await own.stop();
    await relay.stop();
    throw err;
  }
});
test.after.always(async (t) => {
  await t.context.stop?.();
  await t.context.own?.stop();
  await t.context.relay?.stop();
});

test.serial(
  'sent through its own SMTP with its stored password; the relay sees nothing; From and MAIL FROM are its address',
  async (t) => {
    const { sys, owner, own, relay } = t.context;
    const created = await call(sys, 'POST', '/api/v1/mailboxes', {
      token: owner.apiKey,
      body: {
        kind: 'connected',
        address: 'me@example.org',
        imap: t.context.imap('alice'),
        smtp: { host: '127.0.0.1', port: own.port, tls: 'none', username: 'alice', password: SMTP_PASSWORD },
      },
    });
    t.is(created.status, 201, JSON.stringify(created.body));
    const r = await postSend(sys, 'me@example.org', owner.apiKey, { to: 'ann@example.org', subject: 's', text: 't' });
    t.is(r.status, 202, JSON.stringify(r.body));
    t.regex(r.body.message_id, /@example\.org>$/);
    const id = r.body.messages[0].id;
    const row = await waitForStatus(sys, id, ['sent', 'failed']);
    t.is(row.status, 'sent', row.smtp_response);
    t.is(row.envelope_from, 'me@example.org');
    t.deepEqual(await eventTypes(sys, id), ['queued', 'sending', 'sent']);
    t.is(own.messages.length, 1);
    t.is(own.messages[0]!.from, 'me@example.org');
    t.true(own.logins.includes('alice:ok'));
    t.is(relay.messages.length, 0);
    t.is(relay.connections, 0, 'never the relay');
    const log = JSON.stringify(await sys.deps.db('outbound_message_events').where({ outbound_message_id: id }));
    t.false(log.includes(SMTP_PASSWORD));
  },
);

test.serial('a connected mailbox without an SMTP account: 422 sending_not_configured, nothing stored', async (t) => {
  const { sys, owner } = t.context;
  const created = await call(sys, 'POST', '/api/v1/mailboxes', {
    token: owner.apiKey,
    body: { kind: 'connected', address: 'nosmtp@example.org', imap: t.context.imap('alice') },
  });
  t.is(created.status, 201, JSON.stringify(created.body));
  const before = await sys.deps.db('outbound_messages').count<{ n: string }[]>({ n: '*' });
  const r = await postSend(sys, 'nosmtp@example.org', owner.apiKey, { to: 'ann@example.org', subject: 's', text: 't' });
  t.is(r.status, 422);
  t.is(r.body.error.code, 'sending_not_configured');
  t.deepEqual(await sys.deps.db('outbound_messages').count<{ n: string }[]>({ n: '*' }), before);
});

test.serial(
  'the worker checks the SMTP host with the host guard: loopback off the allow-list is refused, no connection',
  async (t) => {
    const { sys, own } = t.context;
    const pool = createTransportPool({
      db: sys.deps.db,
      relay: undefined,
      credentials: sys.config.connected.keyRing,
      allowHosts: parseAllowList('', 'CONNECTED_ALLOW_HOSTS'),
      timeoutMs: 2000,
      maxConnections: 1,
    });
    const row = await sys.deps.db('outbound_messages').where({ recipient_email: 'ann@example.org' }).first('id');
    const loaded = await loadOutboundToSend(sys.deps.db, row.id);
    const connections = own.connections;
    const err = await t.throwsAsync(() => pool.forMailbox(loaded!.mailbox));
    t.is((err as { code?: string }).code, 'smtp_host_forbidden');
    t.regex(err.message, /loopback/);
    t.is(own.connections, connections);
    pool.close();
  },
);
