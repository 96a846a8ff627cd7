import anyTest, { type TestFn } from 'ava';
import type { OpenApiDocument } from '../../src/api/openapi.js';
import { expecter, jsonBody, openApiValidator, validatedCall } from '../helpers/openapi-validator.js';
import { outboundEnv, senderMailbox, waitForStatus } from '../helpers/outbound.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { startSystem, type System } from '../helpers/system.js';

type Ctx = { sys: System; sink: SmtpSink; check: ReturnType<typeof openApiValidator> };
const test = anyTest as TestFn<Ctx>;

test.before(async (t) => {
  const sink = await startSmtpSink();
  const sys = await startSystem({ env: outboundEnv(sink.url, { OUTBOUND_MAX_MESSAGE_BYTES: '4096' }) });
  const served = await sys.json<OpenApiDocument>('/api/v1/openapi.json');
  t.context = { sys, sink, check: openApiValidator(served.body) };
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
  await t.context.sink?.stop();
});

test('real responses of the outbound and suppression routes match the document, errors included', async (t) => {
  const { sys, check, sink } = t.context;
  const expectOk = expecter(t);
  const call = (template: string, path: string, init: RequestInit & { token?: string } = {}) =>
    validatedCall(sys, check, template, path, init);
  const { tenant, address } = await senderMailbox(sys);
  const token = tenant.apiKey;
  const enc = encodeURIComponent(address);
  const OUT = '/api/v1/mailboxes/{address}/outbound';
  const ONE = '/api/v1/mailboxes/{address}/outbound/{id}';
  const SUP = '/api/v1/mailboxes/{address}/suppressions';
  const SUP_ONE = '/api/v1/mailboxes/{address}/suppressions/{recipient}';
  const base = `/api/v1/mailboxes/${enc}`;

  sink.behave = (r) => (r === 'no@example.org' ? 'reject' : 'accept');
  const body = {
    to: ['Ann <ann@example.org>', 'no@example.org'],
    cc: 'cc@example.org',
    subject: 's',
    text: 't',
    html: '<p>t</p>',
    headers: { 'X-A': '1' },
    attachments: [{ filename: 'a.txt', content_type: 'text/plain', content_base64: 'eA==' }],
  };
  const sent = await call(OUT, `${base}/outbound`, {
    ...jsonBody('POST', body),
    token,
    headers: { 'content-type': 'application/json', 'Idempotency-Key': 'k1' },
  });
  expectOk(sent, 202, 'send');
  const ids = (sent.body as { messages: Array<{ id: string }> }).messages.map((m) => m.id);
  for (const id of ids) await waitForStatus(sys, id, ['sent', 'failed']);
  expectOk(
    await call(OUT, `${base}/outbound`, {
      ...jsonBody('POST', body),
      token,
      headers: { 'content-type': 'application/json', 'Idempotency-Key': 'k1' },
    }),
    202,
    'replay',
  );
  expectOk(
    await call(OUT, `${base}/outbound`, {
      ...jsonBody('POST', { ...body, subject: 'x' }),
      token,
      headers: { 'content-type': 'application/json', 'Idempotency-Key': 'k1' },
    }),
    422,
    'reused key',
  );
  expectOk(
    await call(OUT, `${base}/outbound`, { ...jsonBody('POST', { ...body, to: 'bad' }), token }),
    400,
    'invalid_address',
  );
  expectOk(
    await call(OUT, `${base}/outbound`, {
      ...jsonBody('POST', { ...body, attachments: [{ content_base64: Buffer.alloc(5000).toString('base64') }] }),
      token,
    }),
    413,
    'message_too_large',
  );
  const anon = await sys.createMailbox();
  expectOk(
    await call(OUT, `/api/v1/mailboxes/${encodeURIComponent(anon.address)}/outbound`, {
      ...jsonBody('POST', body),
      token: anon.token,
    }),
    403,
    'sending_not_allowed',
  );
  expectOk(await call(OUT, `${base}/outbound?status=sent,failed&limit=1`, { token }), 200, 'list');
  expectOk(await call(OUT, `${base}/outbound?status=nope`, { token }), 400, 'bad status');
  for (const id of ids) expectOk(await call(ONE, `${base}/outbound/${id}`, { token }), 200, 'one');
  expectOk(await call(ONE, `${base}/outbound/not-an-id`, { token }), 404, 'unknown id');

  expectOk(
    await call(SUP, `${base}/suppressions`, { ...jsonBody('POST', { recipient: 'x@example.org', notes: 'n' }), token }),
    201,
    'add',
  );
  expectOk(
    await call(SUP, `${base}/suppressions`, { ...jsonBody('POST', { recipient: 'X@example.org' }), token }),
    200,
    'add again',
  );
  expectOk(
    await call(SUP, `${base}/suppressions`, {
      ...jsonBody('POST', { recipient: 'x@example.org', reason: 'hard_bounce' }),
      token,
    }),
    400,
    'reason',
  );
  expectOk(await call(SUP, `${base}/suppressions?limit=1`, { token }), 200, 'list suppressions');
  expectOk(await call(SUP_ONE, `${base}/suppressions/x%40example.org`, { method: 'DELETE', token }), 204, 'delete');
  expectOk(
    await call(SUP_ONE, `${base}/suppressions/x%40example.org`, { method: 'DELETE', token }),
    404,
    'delete again',
  );
});

test('paging: X-Next-Cursor walks the list newest first without gaps or repeats', async (t) => {
  const { sys } = t.context;
  const { tenant, address } = await senderMailbox(sys);
  const r = await sys.json(`/api/v1/mailboxes/${address}/outbound`, {
    method: 'POST',
    token: tenant.apiKey,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ to: Array.from({ length: 7 }, (_, i) => `p${i}@example.org`), subject: 's', text: 't' }),
  });
  t.is(r.status, 202);
  const seen: string[] = [];
  let cursor = '';
  for (let page = 0; page < 10; page++) {
    const res = await sys.json(`/api/v1/mailboxes/${address}/outbound?limit=3${cursor ? `&cursor=${cursor}` : ''}`, {
      token: tenant.apiKey,
    });
    seen.push(...res.body.map((m: { id: string }) => m.id));
    const next = res.headers.get('x-next-cursor');
    if (!next) break;
    t.true(res.headers.get('link')!.includes(`cursor=${encodeURIComponent(next)}`));
    cursor = encodeURIComponent(next);
  }
  t.deepEqual([...seen].sort(), r.body.messages.map((m: { id: string }) => m.id).sort());
  t.is(new Set(seen).size, 7);
});
