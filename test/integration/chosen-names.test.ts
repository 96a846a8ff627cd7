import anyTest, { type TestFn } from 'ava';
import { RESERVED_LOCAL_PARTS } from '../../src/core/local-part.js';
import { startSystem, TEST_DOMAIN, type System } from '../helpers/system.js';
import { call, createTenant } from '../helpers/tenants.js';

const test = anyTest as TestFn<{ sys: System; apiKey: string }>;
test.before(async (t) => {
  t.context.sys = await startSystem();
  t.context.apiKey = (await createTenant(t.context.sys, 'pro')).apiKey;
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

const create = (
  t: { context: { sys: System; apiKey: string } },
  localPart: unknown,
  token: string | undefined = t.context.apiKey,
) => call(t.context.sys, 'POST', '/api/v1/mailboxes', { token, body: { local_part: localPart } });

test('an API key chooses the local part (JSON or query); it is stored lower-case and receives mail', async (t) => {
  const { sys, apiKey } = t.context;
  const r = await create(t, 'Signup.Test');
  t.is(r.status, 201, JSON.stringify(r.body));
  t.is(r.body.address, `signup.test@${TEST_DOMAIN}`);
  const q = await sys.json(`/api/v1/mailboxes?local_part=q-${Date.now()}&domain=other.test`, {
    method: 'POST',
    token: apiKey,
  });
  t.is(q.status, 201);
  t.regex(q.body.address, /^q-\d+@other\.test$/);
  await sys.send({ to: `Signup.Test@${TEST_DOMAIN}`, subject: 'chosen', text: 'hi' });
  const [m] = await sys.waitForMessages(r.body.address, r.body.token, 1);
  t.is(m.subject, 'chosen');
});

test('a taken address is 409 address_taken, in any case, also while an ended mailbox still holds it', async (t) => {
  const { sys, apiKey } = t.context;
  const first = await create(t, 'taken');
  t.is(first.status, 201);
  const again = await create(t, 'TAKEN');
  t.is(again.status, 409);
  t.is(again.body.error.code, 'address_taken');
  t.regex(again.body.error.message, /taken@mw\.test/);
  t.is((await call(sys, 'DELETE', `/api/v1/mailboxes/${first.body.address}`, { token: apiKey })).status, 204);
  const afterDelete = await create(t, 'taken');
  t.is(afterDelete.status, 409, 'the deleted mailbox row keeps its address until it is purged');
  t.is(afterDelete.body.error.code, 'address_taken');
  t.is((await create(t, 'taken', (await createTenant(sys)).apiKey)).status, 409, 'another user cannot take it either');
});

test('invalid local parts are 400 invalid_local_part; 64 octets is the longest', async (t) => {
  for (const bad of [
    'a..b',
    '.a',
    'a.',
    'with space',
    'ünï',
    'quo"te',
    'a@b',
    '',
    'x'.repeat(65),
    'box+tag',
    5,
    null,
  ]) {
    const r = await create(t, bad);
    t.is(r.status, 400, `local_part ${JSON.stringify(bad)}`);
    t.is(
      r.body.error.code,
      typeof bad === 'string' ? 'invalid_local_part' : 'invalid_body',
      `local_part ${JSON.stringify(bad)}`,
    );
  }
  const plus = await create(t, 'box+tag');
  t.regex(plus.body.error.message, /tag separator/);
  const longest = await create(t, `${'y'.repeat(60)}.ok!`);
  t.is(longest.status, 201);
  t.is(longest.body.address.split('@')[0].length, 64);
  t.is((await create(t, "o'brien_{x}~1")).status, 201, 'every atext character is allowed');
});

test('reserved names are 400 reserved_local_part, in any case', async (t) => {
  t.deepEqual([...RESERVED_LOCAL_PARTS].sort(), [
    'abuse',
    'admin',
    'bounce',
    'bounces',
    'hostmaster',
    'mailer-daemon',
    'no-reply',
    'noreply',
    'postmaster',
    'root',
    'webmaster',
  ]);
  for (const name of [...RESERVED_LOCAL_PARTS, 'PostMaster', 'No-Reply']) {
    const r = await create(t, name);
    t.is(r.status, 400, name);
    t.is(r.body.error.code, 'reserved_local_part', name);
  }
  t.is((await create(t, 'postmaster2')).status, 201, 'only the names themselves');
});

test('anonymous callers cannot choose (403 api_key_required); a mailbox token cannot create at all (403 token_cannot_create)', async (t) => {
  const { sys } = t.context;
  const anon = await create(t, 'anon-choice', ''); // no credential
  t.is(anon.status, 403);
  t.is(anon.body.error.code, 'api_key_required');
  const box = await sys.createMailbox();
  const token = await create(t, 'token-choice', box.token);
  t.is(token.status, 403);
  t.is(token.body.error.code, 'token_cannot_create');
  t.is((await sys.deps.db('mailboxes').whereRaw('address like ?', ['%-choice@%'])).length, 0);
});
