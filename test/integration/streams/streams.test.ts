import { connect } from 'node:net';
import anyTest, { type TestFn } from 'ava';
import { createTokenSigner } from '../../../src/access/tokens.js';
import { publishSafely } from '../../../src/pubsub/events.js';
import { jtiOf } from '../../helpers/jwt.js';
import { openSse, openWs, wsUrl } from '../../helpers/stream-clients.js';
import { startSystem, type System } from '../../helpers/system.js';

const test = anyTest as TestFn<{ sys: System }>;
// TTL_UNIT_MS=1000: ttl_minutes counts seconds here, so a mailbox can expire during a test
test.before(async (t) => {
  t.context.sys = await startSystem({ env: { STREAM_PING_MS: '150', TTL_UNIT_MS: '1000' } });
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

const ws = (sys: System, address: string, query = '') => wsUrl(sys.baseUrl, `/api/v1/mailboxes/${address}/ws${query}`);
const sse = (sys: System, address: string, query = '') => `${sys.baseUrl}/api/v1/mailboxes/${address}/events${query}`;

test('a WebSocket client gets new_message after SMTP delivery, and keepalive pings', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox('?ttl_minutes=60');
  const client = await openWs(ws(sys, box.address), { token: box.token });
  t.deepEqual(await client.next(), { type: 'ready', cursor: '0' });
  await sys.send({
    to: box.address,
    subject: 'ws hello',
    text: 'body',
    attachments: [{ filename: 'a.txt', content: 'x' }],
  });
  const frame = await client.next((f) => f.type === 'new_message');
  t.is(frame.cursor, '1');
  t.deepEqual(Object.keys(frame.message).sort(), [
    'from_address',
    'has_attachments',
    'id',
    'received_at',
    'subject',
    'tag',
  ]);
  t.is(frame.message.subject, 'ws hello');
  t.is(frame.message.from_address, 'sender@example.org');
  t.true(frame.message.has_attachments);
  t.deepEqual(await client.next((f) => f.type === 'ping'), { type: 'ping' });
  const full = await sys.json(`/api/v1/mailboxes/${box.address}/messages/${frame.message.id}`, { token: box.token });
  t.is(full.body.subject, 'ws hello');
  client.close();
});

test.serial(
  'ready is the first frame even when reading the cursor takes longer than the ping interval (WS and SSE)',
  async (t) => {
    const { sys } = t.context;
    const box = await sys.createMailbox('?ttl_minutes=60');
    const mailboxes = sys.deps.stores.mailboxes;
    const findById = mailboxes.findById; // eslint-disable-line @typescript-eslint/unbound-method -- called with .apply(mailboxes) below
    // the cursor read (and the access check) wait 500 ms: three keepalive rounds (STREAM_PING_MS=150) pass meanwhile
    mailboxes.findById = async (...args: Parameters<typeof findById>) => {
      await new Promise((r) => setTimeout(r, 500));
      return findById.apply(mailboxes, args);
    };
    try {
      const [wsClient, sseClient] = await Promise.all([
        openWs(ws(sys, box.address), { token: box.token }),
        openSse(sse(sys, box.address, `?token=${box.token}`)),
      ]);
      t.deepEqual(await wsClient.next(), { type: 'ready', cursor: '0' });
      t.deepEqual(await wsClient.next(), { type: 'ping' }, 'pings follow');
      // SSE opens with the `: connected` comment (it flushes the headers); the first event after it is ready
      const first = await sseClient.next((e) => e.comment !== 'connected');
      t.is(first.event, 'ready');
      t.is((await sseClient.next()).event, 'comment', 'comment pings follow');
      wsClient.close();
      sseClient.close();
    } finally {
      mailboxes.findById = findById;
    }
  },
);

test('an SSE client (token in the query) gets new_message with the cursor as id, and comment pings', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox('?ttl_minutes=60');
  const client = await openSse(sse(sys, box.address, `?token=${box.token}`));
  t.is(client.status, 200);
  t.regex(client.headers.get('content-type') ?? '', /^text\/event-stream/);
  t.is((await client.next((e) => e.event === 'ready')).id, '0');
  await sys.send({ to: box.address, subject: 'sse hello', text: 'body' });
  const e = await client.next((x) => x.event === 'new_message');
  t.is(e.id, '1');
  t.is(e.data.type, 'new_message');
  t.is(e.data.message.subject, 'sse hello');
  t.is((await client.next((x) => x.event === 'comment' && x.comment === 'ping')).comment, 'ping');
  client.close();
});

test('unauthorized and cross-mailbox stream requests are refused before any stream opens', async (t) => {
  const { sys } = t.context;
  const a = await sys.createMailbox('?ttl_minutes=60');
  const b = await sys.createMailbox('?ttl_minutes=60');
  for (const [token, status] of [
    [undefined, 401],
    ['not-a-token', 401],
    [a.token.slice(0, -3) + 'xyz', 401],
    [a.token, 404],
  ] as const) {
    const err = await t.throwsAsync(openWs(ws(sys, b.address), { token }));
    t.is((err as Error & { status?: number }).status, status, `ws with ${String(token).slice(0, 12)}`);
    const s = await openSse(sse(sys, b.address), { token });
    t.is(s.status, status, `sse with ${String(token).slice(0, 12)}`);
    t.is(typeof s.body?.error?.code, 'string');
  }
  const refused = await t.throwsAsync(openWs(ws(sys, 'nobody@mw.test', `?token=${a.token}`)));
  t.is((refused as Error & { status?: number }).status, 404);
  const bad = await openSse(sse(sys, a.address, '?since=abc'), { token: a.token });
  t.is(bad.status, 400);
  t.is(bad.body.error.code, 'invalid_cursor');
});

test('an upgrade to an unknown path is destroyed', async (t) => {
  const { sys } = t.context;
  const socket = connect(sys.web!.port, '127.0.0.1');
  let received = '';
  socket.on('data', (d) => {
    received += d.toString();
  });
  socket.write(
    'GET /nope HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  await new Promise<void>((resolve) => socket.once('close', () => resolve()));
  t.is(received, '');
});

test.serial(
  'an expiring mailbox sends mailbox_expired then closes normally; a new stream is refused with 410',
  async (t) => {
    const { sys } = t.context;
    const box = await sys.createMailbox('?ttl_minutes=5'); // five seconds here
    const [client, s] = await Promise.all([
      openWs(ws(sys, box.address), { token: box.token }),
      openSse(sse(sys, box.address), { token: box.token }),
    ]);
    await Promise.all([client.next((f) => f.type === 'ready'), s.next((e) => e.event === 'ready')]);
    t.deepEqual(await client.next((f) => f.type === 'mailbox_expired', 8_000), {
      type: 'mailbox_expired',
      reason: 'expired',
    });
    await client.inbox.ended();
    t.is(client.closeCode, 1000);
    t.is((await s.next((e) => e.event === 'mailbox_expired', 8_000)).data.reason, 'expired');
    await s.inbox.ended();
    // the creator token expires with the mailbox (401); a credential that outlives it sees 410
    const mailbox = (await sys.deps.stores.mailboxes.findByAddress(box.address))!;
    const { jti, token } = await createTokenSigner(sys.config.tokenSecret!).sign(mailbox.id, ['read']);
    await sys.deps.stores.tokens.insert({
      jti,
      mailboxId: mailbox.id,
      userId: null,
      name: 'long',
      permissions: ['read'],
      expiresAt: new Date(Date.now() + 3_600_000),
    });
    const err = await t.throwsAsync(openWs(ws(sys, box.address), { token }));
    t.is((err as Error & { status?: number }).status, 410);
    t.is((await openSse(sse(sys, box.address), { token })).status, 410);
  },
);

test('deleting the mailbox ends its streams with mailbox_expired (reason deleted)', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox('?ttl_minutes=60');
  const client = await openWs(ws(sys, box.address), { token: box.token });
  await client.next((f) => f.type === 'ready');
  t.is((await sys.api(`/api/v1/mailboxes/${box.address}`, { method: 'DELETE', token: box.token })).status, 204);
  t.deepEqual(await client.next((f) => f.type === 'mailbox_expired'), { type: 'mailbox_expired', reason: 'deleted' });
  await client.inbox.ended();
  t.is(client.closeCode, 1000);
});

test('revoking the token a stream authenticated with closes that stream within a second, and only that one', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox('?ttl_minutes=60');
  const mailbox = (await sys.deps.stores.mailboxes.findByAddress(box.address))!;
  // a second token for the same mailbox, whose stream must survive
  const { jti: otherJti, token: other } = await createTokenSigner(sys.config.tokenSecret!).sign(mailbox.id, ['read']);
  await sys.deps.stores.tokens.insert({
    jti: otherJti,
    mailboxId: mailbox.id,
    userId: null,
    name: 'other',
    permissions: ['read'],
    expiresAt: mailbox.expiresAt!,
  });
  const revokedWs = await openWs(ws(sys, box.address), { token: box.token });
  const revokedSse = await openSse(sse(sys, box.address), { token: box.token });
  const survivor = await openWs(ws(sys, box.address), { token: other });
  await Promise.all([
    revokedWs.next((f) => f.type === 'ready'),
    revokedSse.next((e) => e.event === 'ready'),
    survivor.next((f) => f.type === 'ready'),
  ]);
  const jti = jtiOf(box.token);
  t.true(await sys.deps.stores.tokens.revoke(mailbox.id, jti));
  const started = Date.now();
  t.true(await publishSafely(sys.deps.publisher, { type: 'token_revoked', mailboxId: mailbox.id, jti }, sys.deps.log));
  // "within about a second" (the bound includes the publish round trip on a loaded 2-core CI machine)
  await revokedWs.inbox.ended(1_500);
  await revokedSse.inbox.ended(1_500);
  t.true(Date.now() - started < 1_500, `took ${Date.now() - started} ms`);
  t.is(revokedWs.closeCode, 1008);
  t.truthy(revokedSse.inbox.all.find((e) => e.event === 'token_revoked'));
  await sys.send({ to: box.address, subject: 'still here', text: 'x' });
  t.is((await survivor.next((f) => f.type === 'new_message')).message.subject, 'still here');
  const err = await t.throwsAsync(openWs(ws(sys, box.address), { token: box.token }));
  t.is((err as Error & { status?: number }).status, 401);
  survivor.close();
});

test.serial('a stream ends when the mailbox token it was opened with expires', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox('?ttl_minutes=60');
  const mailbox = (await sys.deps.stores.mailboxes.findByAddress(box.address))!;
  const { jti, token } = await createTokenSigner(sys.config.tokenSecret!).sign(mailbox.id, ['read']);
  await sys.deps.stores.tokens.insert({
    jti,
    mailboxId: mailbox.id,
    userId: null,
    name: 'short',
    permissions: ['read'],
    expiresAt: new Date(Date.now() + 3_000),
  });
  const [client, s] = await Promise.all([
    openWs(ws(sys, box.address), { token }),
    openSse(sse(sys, box.address), { token }),
  ]);
  await Promise.all([client.next((f) => f.type === 'ready'), s.next((e) => e.event === 'ready')]);
  await client.inbox.ended(8_000);
  await s.inbox.ended(8_000);
  t.is(client.closeCode, 1008);
  t.is(client.closeReason, 'token_expired');
  t.truthy(s.inbox.all.find((e) => e.event === 'token_expired'));
});

test.serial('closed streams leave the hub and the open-streams gauge', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox('?ttl_minutes=60');
  const before = sys.web!.streams.registry.size();
  const client = await openWs(ws(sys, box.address), { token: box.token });
  const s = await openSse(sse(sys, box.address), { token: box.token });
  await Promise.all([client.next((f) => f.type === 'ready'), s.next((e) => e.event === 'ready')]);
  t.is(sys.web!.streams.registry.size(), before + 2);
  const gauge = await sys.deps.metrics.openStreams.get();
  t.true(gauge.values.reduce((n, v) => n + v.value, 0) >= 2);
  client.close();
  s.close();
  const until = Date.now() + 5_000;
  while (sys.web!.streams.registry.size() !== before && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  t.is(sys.web!.streams.registry.size(), before);
});
