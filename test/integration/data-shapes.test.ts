import anyTest, { type TestFn } from 'ava';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startSystem, type System } from '../helpers/system.js';

const test = anyTest as TestFn<{ sys: System }>;
test.before(async (t) => {
  t.context.sys = await startSystem();
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

test('an absent display name is null in from_name and in to[].name / cc[].name, also for messages stored as ""', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox();
  await sys.send({
    from: 'plain@example.org',
    to: box.address,
    cc: '"Named" <named@example.org>',
    subject: 'no names',
    text: 'x',
  });
  const [item] = await sys.waitForMessages(box.address, box.token, 1);
  const full = await sys.json(`/api/v1/mailboxes/${box.address}/messages/${item.id}`, { token: box.token });
  t.is(full.body.from_name, null);
  t.deepEqual(full.body.to, [{ address: box.address, name: null }]);
  t.deepEqual(full.body.cc, [{ address: 'named@example.org', name: 'Named' }]);
  // a row written before names were stored as null
  await sys.deps
    .db('messages')
    .where({ id: item.id })
    .update({ to_addresses: JSON.stringify([{ address: box.address, name: '' }]) });
  const old = await sys.json(`/api/v1/mailboxes/${box.address}/messages/${item.id}`, { token: box.token });
  t.deepEqual(old.body.to, [{ address: box.address, name: null }]);
});

test("CLI plans:list prints the plans in the API's snake_case", async (t) => {
  const { sys } = t.context;
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/bin/cli.ts', 'plans:list'], {
    env: { ...process.env, DATABASE_URL: sys.database.url },
  });
  const plans = stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const free = plans.find((p) => p.id === 'free');
  t.like(free, {
    id: 'free',
    default_ttl_minutes: 30,
    max_ttl_minutes: 60,
    max_active_mailboxes: 20,
    max_connected_mailboxes: 3,
    create_budget_points: 600,
    create_budget_window_s: 60,
  });
  t.like(
    plans.find((p) => p.id === 'pro'),
    { max_connected_mailboxes: null },
    'unlimited',
  );
  t.like(
    plans.find((p) => p.id === 'anonymous'),
    { max_connected_mailboxes: 0 },
  );
  for (const p of plans) for (const k of Object.keys(p)) t.regex(k, /^[a-z0-9_]+$/, `${k} is snake_case`);
});
