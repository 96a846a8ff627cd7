import anyTest, { type TestFn } from 'ava';
import { startSystem, type System } from '../helpers/system.js';
import { createUserWithKey } from '../helpers/users.js';

// Whole-number query parameters of any size: a TTL is capped at the plan maximum however large it is
// (an audit found 16 digits refused as "not a positive integer"); a limit above its maximum stays a 400.
const test = anyTest as TestFn<{ sys: System }>;
test.before(async (t) => {
  t.context.sys = await startSystem({ roles: ['web'] });
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

const HUGE = ['9999999999999999', '9007199254740993', '1'.repeat(400), '000000000000000000000042'];

test('POST ttl_minutes of any number of digits is accepted and capped at the plan maximum', async (t) => {
  const { sys } = t.context;
  for (const ttl of HUGE) {
    const r = await sys.json(`/api/v1/mailboxes?ttl_minutes=${ttl}`, { method: 'POST' });
    t.is(r.status, 201, `ttl_minutes=${ttl.slice(0, 30)}`);
    t.is(
      r.body.ttl_minutes,
      ttl.endsWith('42') ? 42 : 60,
      'anonymous max (or the value itself, leading zeros ignored)',
    );
  }
  const { key } = await createUserWithKey(sys.deps.stores, 'pro');
  t.is((await sys.createMailbox('?ttl_minutes=9999999999999999', key)).ttl_minutes, 7 * 24 * 60, 'pro max');
});

test('PATCH ttl_minutes of any number of digits is capped too', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox('?ttl_minutes=5');
  const r = await sys.json(`/api/v1/mailboxes/${box.address}?ttl_minutes=9999999999999999`, {
    method: 'PATCH',
    token: box.token,
  });
  t.is(r.status, 200);
  t.is(r.body.ttl_minutes, 60);
});

test('ttl_minutes that is not decimal digits with a value of at least 1 stays a 400', async (t) => {
  const { sys } = t.context;
  for (const bad of [
    '0',
    '00000000000000000000',
    '-5',
    '-9999999999999999',
    '1.5',
    '1.0',
    '',
    '1e3',
    '0x10',
    '+5',
    '%205',
    '5%20',
    '%20',
    '5,000',
    '%EF%BC%95',
  ]) {
    const r = await sys.json(`/api/v1/mailboxes?ttl_minutes=${bad}`, { method: 'POST' });
    t.is(r.status, 400, `ttl_minutes=${bad}`);
    t.is(r.body.error.code, 'invalid_ttl_minutes');
    t.regex(r.body.error.message, /ttl_minutes must be a positive integer/);
  }
});

test('a limit of any number of digits above its maximum is a 400 naming the maximum, not "not a positive integer"', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox();
  const { key } = await createUserWithKey(sys.deps.stores, 'pro');
  for (const [path, token] of [
    [`/api/v1/mailboxes/${box.address}/messages`, box.token],
    ['/api/v1/mailboxes', key],
  ] as const) {
    for (const limit of HUGE.slice(0, 3)) {
      const r = await sys.json(`${path}?limit=${limit}`, { token });
      t.is(r.status, 400, `${path}?limit=${limit.slice(0, 30)}`);
      t.is(r.body.error.code, 'invalid_limit');
      t.regex(r.body.error.message, /^limit must be at most \d+$/);
    }
    t.is((await sys.json(`${path}?limit=0`, { token })).body.error.message, 'limit must be a positive integer');
    t.is((await sys.json(`${path}?limit=007`, { token })).status, 200, 'leading zeros are still decimal digits');
  }
});
