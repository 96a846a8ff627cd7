import anyTest, { type TestFn } from 'ava';
import { startSystem, type System } from '../helpers/system.js';
import { call, createTenant } from '../helpers/tenants.js';

/**
 * Mailbox creation budgets from the plan rows: the RATE_LIMIT_CREATE_* overrides are unset here (the test
 * system sets them to budgets no ordinary test reaches), so each plan's create_budget_* decides.
 */
const test = anyTest as TestFn<{ sys: System }>;
test.before(async (t) => {
  t.context.sys = await startSystem({
    roles: ['web'],
    env: {
      RATE_LIMIT_CREATE_IP_POINTS: '',
      RATE_LIMIT_CREATE_IP_WINDOW_S: '',
      RATE_LIMIT_CREATE_CREDENTIAL_POINTS: '',
      RATE_LIMIT_CREATE_CREDENTIAL_WINDOW_S: '',
      TRUSTED_PROXY_HOPS: '0',
    },
  });
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

test.serial(
  'a free-plan key creates 200 mailboxes in parallel batches (one per test worker, deleted after) without a 429',
  async (t) => {
    const { sys } = t.context;
    const { apiKey } = await createTenant(sys, 'free');
    const statuses: number[] = [];
    const limits = new Set<string | null>();
    // 20 at a time: the free plan's max_active_mailboxes; each "test" deletes its mailbox
    for (let batch = 0; batch < 10; batch++) {
      const created = await Promise.all(
        Array.from({ length: 20 }, () => call(sys, 'POST', '/api/v1/mailboxes', { token: apiKey })),
      );
      statuses.push(...created.map((r) => r.status));
      for (const r of created) limits.add(r.headers.get('ratelimit-limit'));
      await Promise.all(
        created
          .filter((r) => r.status === 201)
          .map((r) => call(sys, 'DELETE', `/api/v1/mailboxes/${r.body.address}`, { token: apiKey })),
      );
    }
    t.deepEqual(
      statuses.filter((s) => s !== 201),
      [],
      'every creation is a 201',
    );
    t.is(statuses.length, 200);
    t.deepEqual([...limits], ['600'], "the budget advertised is the free plan row's create_budget_points");
  },
);

test.serial(
  "the per-key budget still applies at the plan row's value: a lowered row gives 429 with Retry-After",
  async (t) => {
    const { sys } = t.context;
    await sys.deps.db('plans').insert({
      id: 'tight',
      name: 'Tight',
      default_ttl_minutes: 5,
      max_ttl_minutes: 60,
      max_messages_per_mailbox: 10,
      max_message_bytes: 1024 * 1024,
      max_active_mailboxes: null,
      create_budget_points: 5,
      create_budget_window_s: 600,
    });
    const { apiKey } = await createTenant(sys, 'tight');
    for (let i = 0; i < 2; i++) t.is((await call(sys, 'POST', '/api/v1/mailboxes', { token: apiKey })).status, 201);
    // the operator lowers the plan: the creations already made in this window count against the new value
    await sys.deps.db('plans').where({ id: 'tight' }).update({ create_budget_points: 2 });
    const refused = await call(sys, 'POST', '/api/v1/mailboxes', { token: apiKey });
    t.is(refused.status, 429);
    t.is(refused.body.error.code, 'rate_limited');
    const retryAfter = Number(refused.headers.get('retry-after'));
    t.true(retryAfter >= 1 && retryAfter <= 600, `Retry-After ${retryAfter}`);
    t.is(refused.headers.get('ratelimit-limit'), '2');
    // another key of the same plan has its own budget
    const other = await createTenant(sys, 'tight');
    t.is((await call(sys, 'POST', '/api/v1/mailboxes', { token: other.apiKey })).status, 201);
  },
);

test.serial(
  'anonymous creation is limited per IP by the anonymous plan row; the 429 says how to get an API key',
  async (t) => {
    const { sys } = t.context;
    const row = await sys.deps
      .db('plans')
      .where({ id: 'anonymous' })
      .first('create_budget_points', 'create_budget_window_s');
    t.deepEqual(row, { create_budget_points: 20, create_budget_window_s: 3600 }, 'shipped: 20 per IP per hour');
    const statuses: number[] = [];
    for (let i = 0; i < 21; i++) statuses.push((await call(sys, 'POST', '/api/v1/mailboxes')).status);
    t.deepEqual(statuses, [...Array(20).fill(201), 429]);
    const refused = await call(sys, 'POST', '/api/v1/mailboxes');
    t.is(refused.status, 429);
    t.truthy(refused.headers.get('retry-after'));
    t.is(refused.headers.get('ratelimit-limit'), '20');
    const message: string = refused.body.error.message;
    t.true(message.includes('npm run cli -- users:create --plan free'), message);
    t.true(message.includes('Authorization: Bearer <key>'), message);
    // a key is not held to the IP's budget
    const { apiKey } = await createTenant(sys, 'free');
    t.is((await call(sys, 'POST', '/api/v1/mailboxes', { token: apiKey })).status, 201);
  },
);
