import anyTest, { type TestFn } from 'ava';
import { startSystem, TEST_DOMAIN, type System } from '../helpers/system.js';

const test = anyTest as TestFn<{ sys: System }>;
test.before(async (t) => {
  t.context.sys = await startSystem({ roles: ['web'] });
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

test('addresses are unique case-insensitively in the database', async (t) => {
  const { sys } = t.context;
  const local = `case-${Date.now().toString(36)}`;
  const first = await sys.deps.stores.mailboxes.create({
    address: `${local}@${TEST_DOMAIN}`,
    ownerUserId: null,
    planId: 'anonymous',
    ttlMs: 60_000,
  });
  t.is(first.address, `${local}@${TEST_DOMAIN}`);

  // straight into the table (the store lower-cases; the database must hold the line on its own)
  const mixed = `${local.toUpperCase()}@${TEST_DOMAIN.toUpperCase()}`;
  const err = await t.throwsAsync(
    sys.deps
      .db('mailboxes')
      .insert({ address: mixed, plan_id: 'anonymous', expires_at: sys.deps.db.raw(`now() + interval '1 hour'`) }),
  );
  t.is((err as Error & { code?: string }).code, '23505', 'unique_violation');
  t.is((err as Error & { constraint?: string }).constraint, 'mailboxes_address_key');
  // and through the store
  await t.throwsAsync(
    sys.deps.stores.mailboxes.create({
      address: `${local[0]!.toUpperCase()}${local.slice(1)}@${TEST_DOMAIN}`,
      ownerUserId: null,
      planId: 'anonymous',
      ttlMs: 60_000,
    }),
    { message: /mailboxes_address_key/ },
  );
  t.is((await sys.deps.db('mailboxes').whereRaw('lower(address) = ?', [`${local}@${TEST_DOMAIN}`])).length, 1);
});
