import anyTest, { type TestFn } from 'ava';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTokenSigner } from '../../src/access/tokens.js';
import { createApp } from '../../src/api/app.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { startSystem, type System } from '../helpers/system.js';
import { call, type Tenant } from '../helpers/tenants.js';
import { outboundCounts, outboundEnv, postSend, senderMailbox, sendPath } from '../helpers/outbound.js';

const test = anyTest as TestFn<{ sys: System; sink: SmtpSink; owner: Tenant; address: string }>;
const MAX_MESSAGE = 8192;

test.before(async (t) => {
  const sink = await startSmtpSink();
  const sys = await startSystem({
    env: outboundEnv(sink.url, { OUTBOUND_MAX_MESSAGE_BYTES: String(MAX_MESSAGE), OUTBOUND_MAX_RECIPIENTS: '5' }),
    roles: ['web', 'worker'],
  });
  const { tenant, address } = await senderMailbox(sys);
  t.context = { sys, sink, owner: tenant, address };
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
  await t.context.sink?.stop();
});

const ok = { to: 'ann@example.org', subject: 'hello', text: 'hi' };
const b64 = (s: string) => Buffer.from(s).toString('base64');
const many = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

const BAD: Array<[string, unknown, number, string]> = [
  ['not JSON', '{"to":', 400, 'invalid_body'],
  ['an array', [ok], 400, 'invalid_body'],
  ['unknown field', { ...ok, from: 'me@example.org' }, 400, 'invalid_body'],
  ['wrong type', { ...ok, to: 5 }, 400, 'invalid_body'],
  ['no recipient', { subject: 's', text: 't' }, 400, 'invalid_body'],
  ['empty recipient list', { to: [], subject: 's', text: 't' }, 400, 'invalid_body'],
  ['neither text nor html', { to: 'a@example.org', subject: 's' }, 400, 'invalid_body'],
  ['no subject', { to: 'a@example.org', text: 't' }, 400, 'invalid_body'],
  ['NUL in the text', { ...ok, text: 'a\u0000b' }, 400, 'invalid_body'],
  ['not an address', { ...ok, to: 'not-an-address' }, 400, 'invalid_address'],
  ['host without a dot', { ...ok, cc: ['a@localhost'] }, 400, 'invalid_address'],
  ['space in the local part', { ...ok, bcc: 'a b@example.org' }, 400, 'invalid_address'],
  ['local part over 64 octets', { ...ok, to: `${'a'.repeat(65)}@example.org` }, 400, 'invalid_address'],
  ['unicode local part', { ...ok, to: 'jürgen@example.org' }, 400, 'invalid_address'],
  ['bad reply_to', { ...ok, reply_to: 'nope' }, 400, 'invalid_address'],
  ['CR in the subject', { ...ok, subject: 'a\rBcc: x@example.org' }, 400, 'invalid_header'],
  ['LF in from_name', { ...ok, from_name: 'a\nb' }, 400, 'invalid_header'],
  ['LF in an address', { ...ok, to: 'a@example.org\nBcc: b@example.org' }, 400, 'invalid_header'],
  ['CR in a header value', { ...ok, headers: { 'X-A': 'a\r\nBcc: b@example.org' } }, 400, 'invalid_header'],
  ['NUL in a header value', { ...ok, headers: { 'X-A': 'a\u0000' } }, 400, 'invalid_header'],
  ['header name with a space', { ...ok, headers: { 'X A': '1' } }, 400, 'invalid_header'],
  ['header name of 77 characters', { ...ok, headers: { ['X'.repeat(77)]: '1' } }, 400, 'invalid_header'],
  ['reserved header From', { ...ok, headers: { from: 'x@example.org' } }, 400, 'invalid_header'],
  ['reserved header Content-Type', { ...ok, headers: { 'Content-Type': 'text/plain' } }, 400, 'invalid_header'],
  ['reserved header DKIM-Signature', { ...ok, headers: { 'DKIM-Signature': 'v=1' } }, 400, 'invalid_header'],
  ['51 headers', { ...ok, headers: Object.fromEntries(many(51, (i) => [`X-H${i}`, '1'])) }, 400, 'invalid_header'],
  [
    'CR in a filename',
    { ...ok, attachments: [{ filename: 'a\r.txt', content_type: 'text/plain', content_base64: b64('x') }] },
    400,
    'invalid_header',
  ],
  [
    '6 recipients (OUTBOUND_MAX_RECIPIENTS 5)',
    { ...ok, to: many(6, (i) => `r${i}@example.org`) },
    400,
    'too_many_recipients',
  ],
  [
    'bad base64',
    { ...ok, attachments: [{ filename: 'a.txt', content_type: 'text/plain', content_base64: 'no base64!' }] },
    400,
    'invalid_attachment',
  ],
  [
    'content type not type/subtype',
    { ...ok, attachments: [{ filename: 'a.pdf', content_type: 'pdf', content_base64: b64('x') }] },
    400,
    'invalid_attachment',
  ],
  [
    '21 attachments',
    { ...ok, attachments: many(21, (i) => ({ filename: `${i}.txt`, content_base64: b64('x') })) },
    400,
    'invalid_attachment',
  ],
  [
    'built message over OUTBOUND_MAX_MESSAGE_BYTES',
    { ...ok, attachments: [{ filename: 'big.bin', content_base64: Buffer.alloc(MAX_MESSAGE).toString('base64') }] },
    413,
    'message_too_large',
  ],
  ['body over OUTBOUND_MAX_REQUEST_BYTES', { ...ok, text: 'x'.repeat(200 * 1024) }, 413, 'payload_too_large'],
];

test.serial('bad input: refused naming the problem, nothing stored or queued, no SMTP connection', async (t) => {
  const { sys, sink, owner, address } = t.context;
  const before = await outboundCounts(sys);
  const connections = sink.connections;
  for (const [name, body, status, code] of BAD) {
    const r =
      typeof body === 'string'
        ? await fetch(sys.baseUrl + sendPath(address), {
            method: 'POST',
            headers: { authorization: `Bearer ${owner.apiKey}`, 'content-type': 'application/json' },
            body,
          }).then(async (res) => ({ status: res.status, body: (await res.json()) as any }))
        : await postSend(sys, address, owner.apiKey, body, { 'Idempotency-Key': `bad-${name}` });
    t.is(r.status, status, `${name}: ${JSON.stringify(r.body)}`);
    t.is(r.body?.error?.code, code, name);
  }
  t.deepEqual(await outboundCounts(sys), before, 'nothing stored (no idempotency record either)');
  t.is(sink.connections, connections, 'no SMTP connection');
  const jobs = await sys.deps.queues.outbound.getJobs(['waiting', 'delayed', 'active', 'prioritized']);
  t.deepEqual(
    jobs.filter((j) => j.name === 'send'),
    [],
    'no send job',
  );
});

test.serial(
  'accepted forms: names, a string or an array, IDN as punycode, duplicates across to/cc/bcc once',
  async (t) => {
    const { sys, owner, address } = t.context;
    const r = await postSend(sys, address, owner.apiKey, {
      to: ['"Ann, A." <Ann@Example.org>', 'user@bücher.example'],
      cc: 'ann@example.org',
      bcc: ['"quoted local"@example.org'],
      subject: 's',
      html: '<b>x</b>',
    });
    t.is(r.status, 202, JSON.stringify(r.body));
    t.deepEqual(
      r.body.messages.map((m: any) => m.recipient),
      ['Ann@example.org', 'user@xn--bcher-kva.example', '"quoted local"@example.org'],
    );
    const rows = await sys.deps
      .db('outbound_messages')
      .whereIn(
        'id',
        r.body.messages.map((m: any) => m.id),
      )
      .orderBy('position');
    t.deepEqual(
      rows.map((x: any) => x.recipient_type),
      ['to', 'to', 'bcc'],
    );
  },
);

test.serial('a read-only token: 403 insufficient_permission; a send token: 202', async (t) => {
  const { sys, owner, address } = t.context;
  const mint = async (permissions: string[]) =>
    (await call(sys, 'POST', `/api/v1/mailboxes/${address}/tokens`, { token: owner.apiKey, body: { permissions } }))
      .body.token as string;
  const before = (await outboundCounts(sys)).outbound_messages;
  const r = await postSend(sys, address, await mint(['read']), ok);
  t.is(r.status, 403);
  t.is(r.body.error.code, 'insufficient_permission');
  t.is((await outboundCounts(sys)).outbound_messages, before);
  const s = await postSend(sys, address, await mint(['send']), ok);
  t.is(s.status, 202);
  // suppressions: POST needs send or manage, DELETE manage, GET read
  const sendOnly = await mint(['send']);
  const add = await call(sys, 'POST', `/api/v1/mailboxes/${address}/suppressions`, {
    token: sendOnly,
    body: { recipient: 'x@example.org' },
  });
  t.is(add.status, 201);
  const del = await call(sys, 'DELETE', `/api/v1/mailboxes/${address}/suppressions/x@example.org`, { token: sendOnly });
  t.is(del.status, 403);
  const list = await call(sys, 'GET', `/api/v1/mailboxes/${address}/suppressions`, { token: sendOnly });
  t.is(list.status, 403, 'GET needs read');
});

test.serial('another tenant: 404 on every outbound route; an id of another mailbox: 404', async (t) => {
  const { sys, owner, address } = t.context;
  const other = await senderMailbox(sys);
  const mine = await postSend(sys, address, owner.apiKey, ok);
  const id = mine.body.messages[0].id;
  const routes: Array<[string, string, unknown?]> = [
    ['POST', sendPath(address), ok],
    ['GET', sendPath(address)],
    ['GET', `${sendPath(address)}/${id}`],
    ['GET', `/api/v1/mailboxes/${address}/suppressions`],
    ['POST', `/api/v1/mailboxes/${address}/suppressions`, { recipient: 'a@example.org' }],
    ['DELETE', `/api/v1/mailboxes/${address}/suppressions/a@example.org`],
  ];
  for (const [method, path, body] of routes) {
    const r = await call(sys, method, path, { token: other.tenant.apiKey, body });
    t.is(r.status, 404, `${method} ${path}`);
    t.is(r.body.error.code, 'mailbox_not_found');
  }
  const cross = await call(sys, 'GET', `${sendPath(other.address)}/${id}`, { token: other.tenant.apiKey });
  t.is(cross.status, 404);
  t.is(cross.body.error.code, 'outbound_message_not_found');
});

test.serial('Idempotency-Key: replay, another body 422, a bad key 400, 20 parallel requests one send', async (t) => {
  const { sys, owner, address } = t.context;
  const key = { 'Idempotency-Key': 'build-42' };
  const first = await postSend(sys, address, owner.apiKey, ok, key);
  t.is(first.status, 202);
  const replay = await postSend(
    sys,
    address,
    owner.apiKey,
    { text: 'hi', subject: 'hello', to: 'ann@example.org' },
    key,
  );
  t.is(replay.status, 202);
  t.is(replay.headers.get('idempotent-replayed'), 'true');
  t.deepEqual(replay.body, first.body, 'same body (keys in another order are the same request)');
  const other = await postSend(sys, address, owner.apiKey, { ...ok, subject: 'other' }, key);
  t.is(other.status, 422);
  t.is(other.body.error.code, 'idempotency_key_reused');
  const bad = await postSend(sys, address, owner.apiKey, ok, { 'Idempotency-Key': 'k'.repeat(256) });
  t.is(bad.status, 400);
  t.is(bad.body.error.code, 'invalid_idempotency_key');
  // another credential may use the same key
  const token = (
    await call(sys, 'POST', `/api/v1/mailboxes/${address}/tokens`, {
      token: owner.apiKey,
      body: { permissions: ['send'] },
    })
  ).body.token;
  const theirs = await postSend(sys, address, token, ok, key);
  t.is(theirs.status, 202);
  t.not(theirs.body.message_id, first.body.message_id);

  const sendsBefore = (await outboundCounts(sys)).outbound_sends;
  const parallel = await Promise.all(
    many(20, () => postSend(sys, address, owner.apiKey, { ...ok, subject: 'parallel' }, { 'Idempotency-Key': 'par' })),
  );
  t.is((await outboundCounts(sys)).outbound_sends, sendsBefore + 1, 'one send');
  const accepted = parallel.filter((r) => r.status === 202);
  t.true(accepted.length >= 1);
  t.is(new Set(accepted.map((r) => r.body.message_id)).size, 1);
  for (const r of parallel.filter((x) => x.status !== 202)) {
    t.is(r.status, 409);
    t.is(r.body.error.code, 'idempotency_key_in_progress');
    t.truthy(r.headers.get('retry-after'));
  }
});

test.serial(
  'quotas: plan 0 → 403; parallel requests never exceed the daily quota; 429 with Retry-After; a token cap',
  async (t) => {
    const { sys, owner } = t.context;
    // an anonymous mailbox: the anonymous plan sends nothing
    const anon = await sys.createMailbox();
    const a = await postSend(sys, anon.address, anon.token, ok);
    t.is(a.status, 403);
    t.is(a.body.error.code, 'sending_not_allowed');

    await sys.deps.db('plans').insert({
      ...(await sys.deps.db('plans').where({ id: 'free' }).first()),
      id: 'tiny',
      name: 'Tiny',
      max_sends_per_day: 5,
    });
    const tiny = await senderMailbox(sys, 'tiny');
    const before = await outboundCounts(sys);
    const answers = await Promise.all(
      many(10, (i) => postSend(sys, tiny.address, tiny.tenant.apiKey, { ...ok, to: `q${i}@example.org` })),
    );
    t.is(answers.filter((r) => r.status === 202).length, 5, answers.map((r) => r.status).join(','));
    for (const r of answers.filter((x) => x.status !== 202)) {
      t.is(r.status, 429);
      t.is(r.body.error.code, 'send_quota_exceeded');
      const after = Number(r.headers.get('retry-after'));
      // the window moves by the minute: a send leaves it 24 h to 24 h + 1 min after it was accepted
      t.true(after > 86_000 && after <= 86_460, String(after));
    }
    t.is((await outboundCounts(sys)).outbound_messages, before.outbound_messages + 5);
    // suppressed recipients do not count
    await call(sys, 'POST', `/api/v1/mailboxes/${tiny.address}/suppressions`, {
      token: tiny.tenant.apiKey,
      body: { recipient: 's@example.org' },
    });
    const sup = await postSend(sys, tiny.address, tiny.tenant.apiKey, { ...ok, to: 's@example.org' });
    t.is(sup.status, 202);
    t.is(sup.body.messages[0].status, 'suppressed');

    const capped = (
      await call(sys, 'POST', `/api/v1/mailboxes/${(await senderMailbox(sys)).address}/tokens`, {
        token: owner.apiKey,
        body: { permissions: ['send'] },
      })
    ).status;
    t.is(capped, 404, 'a token is minted on the owner’s own mailbox only');
    const m = await senderMailbox(sys);
    const minted = (
      await call(sys, 'POST', `/api/v1/mailboxes/${m.address}/tokens`, {
        token: m.tenant.apiKey,
        body: { permissions: ['send'], max_sends_per_day: 1 },
      })
    ).body;
    const tok = minted.token;
    t.is(minted.max_sends_per_day, 1, 'the minted token shows its cap');
    const listed = await call(sys, 'GET', `/api/v1/mailboxes/${m.address}/tokens`, { token: m.tenant.apiKey });
    t.is(
      listed.body.find((x: any) => x.jti === minted.jti).max_sends_per_day,
      1,
      'the token list shows each token’s max_sends_per_day',
    );
    t.is((await postSend(sys, m.address, tok, ok)).status, 202);
    const keys = (await outboundCounts(sys)).idempotency_keys;
    const over = await postSend(sys, m.address, tok, ok, { 'Idempotency-Key': 'over' });
    t.is(over.status, 429);
    t.is(over.body.error.code, 'send_quota_exceeded');
    t.is((await outboundCounts(sys)).idempotency_keys, keys, 'an error answer leaves no idempotency record');
    t.is(
      (await postSend(sys, m.address, m.tenant.apiKey, ok)).status,
      202,
      'the owner’s key is not capped by the token',
    );
  },
);

test.serial(
  'the quota is a rolling 24 h counter: minutes older than the window neither count nor stay; Retry-After is when the oldest counted minute leaves',
  async (t) => {
    const { sys } = t.context;
    const db = sys.deps.db;
    if (!(await db('plans').where({ id: 'tiny2' }).first()))
      await db('plans').insert({
        ...(await db('plans').where({ id: 'free' }).first()),
        id: 'tiny2',
        name: 'Tiny 2',
        max_sends_per_day: 5,
      });
    const s = await senderMailbox(sys, 'tiny2');
    const userId = (await db('mailboxes').where({ address: s.address }).first()).owner_user_id as string;
    const scope = `owner:${userId}`;
    // 1,000 recipients 25 hours ago: outside the window, so they do not count, and the next check deletes them
    await db('send_quota_buckets').insert({
      scope,
      bucket: db.raw(`date_trunc('minute', now() - interval '25 hours')`),
      n: 1000,
    });
    const first = await postSend(sys, s.address, s.tenant.apiKey, { ...ok, to: 'w1@example.org' });
    t.is(first.status, 202);
    const buckets = await db('send_quota_buckets').where({ scope }).orderBy('bucket').select('n');
    t.deepEqual(
      buckets.map((b) => b.n),
      [1],
      'the old minute is gone; this request counted one recipient',
    );
    // four recipients 23 hours ago fill the quota of 5: the next send waits until that minute leaves the window
    await db('send_quota_buckets').insert({
      scope,
      bucket: db.raw(`date_trunc('minute', now() - interval '23 hours')`),
      n: 4,
    });
    const over = await postSend(sys, s.address, s.tenant.apiKey, { ...ok, to: 'w2@example.org' });
    t.is(over.status, 429);
    t.is(over.body.error.code, 'send_quota_exceeded');
    const after = Number(over.headers.get('retry-after'));
    t.true(after > 3_500 && after <= 3_660, String(after));
    t.deepEqual(
      (await db('send_quota_buckets').where({ scope }).orderBy('bucket').select('n')).map((b) => b.n),
      [4, 1],
      'a refused request adds nothing',
    );
  },
);

test.serial('no relay configured: a hosted mailbox gets 422 sending_not_configured', async (t) => {
  const { sys, owner, address } = t.context;
  const config = { ...sys.config, outbound: { ...sys.config.outbound, relay: undefined } };
  const app = createApp({
    ...sys.deps,
    config,
    plans: sys.deps.stores.plans,
    signer: createTokenSigner(sys.config.tokenSecret!),
  });
  const koa = app.callback();
  const server: Server = createServer((req, res) => void koa(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const before = await outboundCounts(sys);
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}${sendPath(address)}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${owner.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(ok),
    });
    t.is(res.status, 422);
    t.is(((await res.json()) as any).error.code, 'sending_not_configured');
    t.deepEqual(await outboundCounts(sys), before);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
