import anyTest, { type TestFn } from 'ava';
import { ImapFlow } from 'imapflow';
import { connectedFixture, type ConnectedFixture } from '../helpers/connected.js';
import { openSse } from '../helpers/stream-clients.js';
import { call } from '../helpers/tenants.js';

// A server without IDLE: the watcher polls with NOOP every CONNECTED_WATCH_POLL_MS (imapflow's own fallback
// would poll every 2 minutes), and new mail still reaches the streams.

const PASSWORD = 'carol-Poll-pw-2be4';
const BOX = 'poll@example.org';

const test = anyTest as TestFn<ConnectedFixture>;

test.before(async (t) => {
  t.context = await connectedFixture({
    users: [{ user: 'carol', password: PASSWORD }],
    extraConf: 'imap_capability = IMAP4rev1 LITERAL+ SASL-IR ENABLE UIDPLUS\n',
    roles: ['web', 'worker'],
    env: { IMAP_TIMEOUT_MS: '5000', CONNECTED_WATCH_SCAN_MS: '100', CONNECTED_WATCH_POLL_MS: '200' },
  });
});
test.after.always(async (t) => {
  await t.context.stop?.();
});

test('without IDLE the watcher polls with NOOP: an APPEND reaches the stream within a few polls', async (t) => {
  const probe = new ImapFlow(t.context.dv.imapOptions('carol'));
  await probe.connect();
  t.false(probe.capabilities.has('IDLE'), 'this server does not offer IDLE');
  await probe.logout();

  const r = await call(t.context.sys, 'POST', '/api/v1/mailboxes', {
    token: t.context.owner.apiKey,
    body: {
      kind: 'connected',
      address: BOX,
      imap: { host: '127.0.0.1', port: t.context.dv.port, tls: 'none', username: 'carol', password: PASSWORD },
    },
  });
  t.is(r.status, 201, r.text);
  const until = Date.now() + 15_000;
  for (;;) {
    const g = await t.context.sys.deps.metrics.connectedWatchers.get();
    if (g.values.find((v) => v.labels.state === 'watching')?.value === 1) break;
    if (Date.now() > until) throw new Error('the watcher did not connect');
    await new Promise((res) => setTimeout(res, 25));
  }
  const sse = await openSse(`${t.context.sys.baseUrl}/api/v1/mailboxes/${BOX}/events`, {
    token: t.context.owner.apiKey,
  });
  try {
    await sse.next((e) => e.event === 'ready');
    const raw = 'From: dan@example.net\r\nSubject: polled\r\n\r\nhi\r\n';
    const { uid, uidValidity } = await t.context.dv.append('carol', 'INBOX', raw);
    const frame = await sse.next((e) => e.event === 'new_message', 5_000);
    t.is(frame.id, `${uidValidity}.${uid}`);
    t.is(frame.data.message.subject, 'polled');
  } finally {
    sse.close();
  }
});
