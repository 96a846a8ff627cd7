import anyTest, { type TestFn } from 'ava';
import { Webhook } from 'standardwebhooks';
import { eventually } from '../helpers/events.js';
import { startReceiver, type Receiver } from '../helpers/webhook-receiver.js';
import { startSystem, TEST_DOMAIN, type System } from '../helpers/system.js';

const test = anyTest as TestFn<{ sys: System; rx: Receiver }>;

test.before(async (t) => {
  const rx = await startReceiver();
  const sys = await startSystem({
    env: {
      WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
      WEBHOOK_RETRY_SCHEDULE_MS: '100,200',
      TRACKING_HMAC_SECRET: 'x'.repeat(40),
    },
  });
  t.context = { sys, rx };
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
  await t.context.rx?.close();
});

const put = (sys: System, address: string, token: string, body: unknown) =>
  sys.json(`/api/v1/mailboxes/${address}/webhook`, {
    method: 'PUT',
    token,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

test('PUT creates (201, secret once, no-store), GET never shows it, a replace keeps it (200)', async (t) => {
  const { sys, rx } = t.context;
  const box = await sys.createMailbox();
  const created = await put(sys, box.address, box.token, { url: rx.url('/a'), events: ['message.received'] });
  t.is(created.status, 201);
  t.regex(created.body.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
  t.is(created.headers.get('cache-control'), 'no-store');
  t.like(created.body, { url: rx.url('/a'), events: ['message.received'], status: 'enabled', disabled_reason: null });

  const read = await sys.json(`/api/v1/mailboxes/${box.address}/webhook`, { token: box.token });
  t.is(read.status, 200);
  t.false('secret' in read.body);
  t.deepEqual(Object.keys(read.body).sort(), [
    'created_at',
    'disabled_at',
    'disabled_reason',
    'events',
    'previous_secret_expires_at',
    'status',
    'updated_at',
    'url',
  ]);
  const replaced = await put(sys, box.address, box.token, { url: rx.url('/b') });
  t.is(replaced.status, 200);
  t.false('secret' in replaced.body);
  t.is(replaced.body.events, null);

  // the kept secret still signs
  await sys.send({ to: box.address, subject: 'after replace', text: 'x' });
  const [got] = await eventually(async () => {
    const r = rx.received.filter((x) => x.path === '/b');
    return r.length ? r : undefined;
  });
  t.notThrows(() => new Webhook(created.body.secret).verify(got!.body, got!.headers as Record<string, string>));
});

test('message.received: one signed POST with the list-item fields and size, never the body', async (t) => {
  const { sys, rx } = t.context;
  const box = await sys.createMailbox();
  const { body } = await put(sys, box.address, box.token, { url: rx.url('/recv') });
  await sys.send({ to: box.address, subject: 'Hello hook', text: 'SECRET-BODY-TEXT' });
  const got = await eventually(async () => rx.received.find((r) => r.path === '/recv'));
  const payload = new Webhook(body.secret).verify(got.body, got.headers as Record<string, string>) as any;
  t.is(payload.type, 'message.received');
  t.is(payload.mailbox, box.address);
  t.regex(payload.id, /^evt_[0-9A-HJKMNP-TV-Z]{26}$/);
  t.is(got.headers['webhook-id'], payload.id);
  t.regex(payload.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);
  t.true(Number.isInteger(payload.sequence));
  t.deepEqual(Object.keys(payload.data.message).sort(), [
    'from_address',
    'has_attachments',
    'id',
    'received_at',
    'size',
    'subject',
    'tag',
  ]);
  t.is(payload.data.message.subject, 'Hello hook');
  t.false(got.body.includes('SECRET-BODY-TEXT'));
  t.is(got.headers['content-type'], 'application/json');

  const [listed] = (await sys.json(`/api/v1/mailboxes/${box.address}/webhook/deliveries`, { token: box.token })).body;
  t.like(listed, { event_id: payload.id, event_type: 'message.received', attempts: 1, last_status_code: 200 });
  await eventually(async () => {
    const d = await sys.json(`/api/v1/mailboxes/${box.address}/webhook/deliveries/${listed.id}`, { token: box.token });
    return d.body.status === 'delivered' ? d : undefined;
  });
  const one = await sys.json(`/api/v1/mailboxes/${box.address}/webhook/deliveries/${listed.id}`, { token: box.token });
  t.deepEqual(one.body.payload, payload);
  t.is(one.body.attempt_log.length, 1);
});

test('types filter: an unsubscribed type writes no delivery; test always goes; rotation signs twice', async (t) => {
  const { sys, rx } = t.context;
  const box = await sys.createMailbox();
  const { body } = await put(sys, box.address, box.token, { url: rx.url('/typed'), events: ['mailbox.expired'] });
  await sys.send({ to: box.address, subject: 'not subscribed', text: 'x' });
  await sys.waitForMessages(box.address, box.token, 1);
  const test1 = await sys.json(`/api/v1/mailboxes/${box.address}/webhook/test`, { method: 'POST', token: box.token });
  t.is(test1.status, 202);
  const first = await eventually(async () => rx.received.find((r) => r.path === '/typed'));
  t.is(JSON.parse(first.body).type, 'webhook.test');

  const rotated = await sys.json(`/api/v1/mailboxes/${box.address}/webhook/rotate-secret`, {
    method: 'POST',
    token: box.token,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ keep_previous_minutes: 5 }),
  });
  t.is(rotated.status, 200);
  t.is(rotated.headers.get('cache-control'), 'no-store');
  t.not(rotated.body.secret, body.secret);
  await sys.json(`/api/v1/mailboxes/${box.address}/webhook/test`, { method: 'POST', token: box.token });
  const second = await eventually(async () => rx.received.filter((r) => r.path === '/typed')[1]);
  t.is((second.headers['webhook-signature'] as string).split(' ').length, 2);
  t.notThrows(() => new Webhook(rotated.body.secret).verify(second.body, second.headers as Record<string, string>));
  t.notThrows(() => new Webhook(body.secret).verify(second.body, second.headers as Record<string, string>));
  const deliveries = (await sys.json(`/api/v1/mailboxes/${box.address}/webhook/deliveries`, { token: box.token })).body;
  t.deepEqual(
    deliveries.map((d: any) => d.event_type),
    ['webhook.test', 'webhook.test'],
  );
  const got = await sys.json(`/api/v1/mailboxes/${box.address}/webhook`, { token: box.token });
  t.is(got.body.previous_secret_expires_at, rotated.body.previous_secret_expires_at);
});

test('a manual retry sends the same webhook-id again, freshly signed, counted as an attempt', async (t) => {
  const { sys, rx } = t.context;
  const box = await sys.createMailbox();
  await put(sys, box.address, box.token, { url: rx.url('/retry') });
  await sys.json(`/api/v1/mailboxes/${box.address}/webhook/test`, { method: 'POST', token: box.token });
  const first = await eventually(async () => rx.received.find((r) => r.path === '/retry'));
  const [d] = (await sys.json(`/api/v1/mailboxes/${box.address}/webhook/deliveries`, { token: box.token })).body;
  await eventually(async () =>
    (await sys.json(`/api/v1/mailboxes/${box.address}/webhook/deliveries/${d.id}`, { token: box.token })).body
      .status === 'delivered'
      ? true
      : undefined,
  );
  const retried = await sys.json(`/api/v1/mailboxes/${box.address}/webhook/deliveries/${d.id}/retry`, {
    method: 'POST',
    token: box.token,
  });
  t.is(retried.status, 202);
  const again = await eventually(async () => rx.received.filter((r) => r.path === '/retry')[1]);
  t.is(again.headers['webhook-id'], first.headers['webhook-id']);
  t.is(again.body, first.body);
  const after = await eventually(async () => {
    const r = await sys.json(`/api/v1/mailboxes/${box.address}/webhook/deliveries/${d.id}`, { token: box.token });
    return r.body.attempts === 2 && r.body.status === 'delivered' ? r : undefined;
  });
  t.is(after.body.attempt_log.length, 2);
});

test('bad input: 400 invalid_body, 422 webhook_url_invalid / forbidden, 404 webhook_not_found, read-only token 403', async (t) => {
  const { sys, rx } = t.context;
  const box = await sys.createMailbox();
  const cases: Array<[unknown, number, string]> = [
    [{}, 400, 'invalid_body'],
    [{ url: 5 }, 400, 'invalid_body'],
    [{ url: rx.url(), extra: 1 }, 400, 'invalid_body'],
    [{ url: rx.url(), events: ['message.nope'] }, 400, 'invalid_body'],
    [{ url: 'ftp://example.org/' }, 422, 'webhook_url_invalid'],
    [{ url: `http://user:pass@127.0.0.1:${rx.port}/` }, 422, 'webhook_url_invalid'],
    [{ url: `http://127.0.0.1/${'a'.repeat(2100)}` }, 422, 'webhook_url_invalid'],
    [{ url: 'not a url' }, 422, 'webhook_url_invalid'],
    // WEBHOOK_ALLOW_HOSTS=127.0.0.1: every other loopback spelling is refused
    [{ url: `http://127.0.0.2:${rx.port}/` }, 422, 'webhook_url_forbidden'],
    [{ url: `http://[::1]:${rx.port}/` }, 422, 'webhook_url_forbidden'],
    [{ url: `http://[::ffff:127.0.0.2]:${rx.port}/` }, 422, 'webhook_url_forbidden'],
    [{ url: `http://2130706434:${rx.port}/` }, 422, 'webhook_url_forbidden'],
    [{ url: `http://0x7f000002:${rx.port}/` }, 422, 'webhook_url_forbidden'],
    [{ url: `http://0177.0.0.2:${rx.port}/` }, 422, 'webhook_url_forbidden'],
  ];
  for (const [body, status, code] of cases) {
    const r = await put(sys, box.address, box.token, body);
    t.is(r.status, status, JSON.stringify(body).slice(0, 80));
    t.is(r.body.error.code, code, JSON.stringify(body).slice(0, 80));
  }
  t.is(
    (await sys.json(`/api/v1/mailboxes/${box.address}/webhook`, { token: box.token })).body.error.code,
    'webhook_not_found',
  );
  const other = await sys.createMailbox();
  const foreign = await put(sys, other.address, box.token, { url: rx.url() });
  t.is(foreign.status, 404);
  t.is(foreign.body.error.code, 'mailbox_not_found');
  const tok = await sys.json(`/api/v1/mailboxes/${box.address}/tokens`, {
    method: 'POST',
    token: box.token,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ permissions: ['read'] }),
  });
  const ro = await put(sys, box.address, tok.body.token, { url: rx.url() });
  t.is(ro.status, 403);
  t.is(ro.body.error.code, 'insufficient_permission');
  t.is((await sys.json(`/api/v1/mailboxes/nobody@${TEST_DOMAIN}/webhook`, { token: box.token })).status, 404);
});

test('DELETE removes the webhook and its deliveries (204), then 404', async (t) => {
  const { sys, rx } = t.context;
  const box = await sys.createMailbox();
  await put(sys, box.address, box.token, { url: rx.url('/del') });
  const del = await sys.api(`/api/v1/mailboxes/${box.address}/webhook`, { method: 'DELETE', token: box.token });
  t.is(del.status, 204);
  const again = await sys.api(`/api/v1/mailboxes/${box.address}/webhook`, { method: 'DELETE', token: box.token });
  t.is(again.status, 404);
});
