import anyTest, { type TestFn } from 'ava';
import { startSystem, type System } from '../helpers/system.js';
import { createUserWithKey } from '../helpers/users.js';

// Plan rows set the limits (here the TTL cap); a running process reads them through a cache of PLAN_CACHE_MS.
const PLAN_CACHE_MS = 200;
const test = anyTest as TestFn<{ sys: System }>;

test.before(async (t) => {
  t.context.sys = await startSystem({ roles: ['web'], env: { PLAN_CACHE_MS: String(PLAN_CACHE_MS) } });
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

// serial (ava runs serial tests first): no other test in this file may refill the web process's plan cache meanwhile
test.serial(
  `a running process picks up a changed plan row once PLAN_CACHE_MS (${PLAN_CACHE_MS} ms) has passed`,
  async (t) => {
    const { sys } = t.context;
    const before = await sys.createMailbox('?ttl_minutes=600');
    const loadedBy = Date.now(); // the plan cache was filled during that request, at the latest now
    t.is(before.ttl_minutes, 60, 'anonymous max, as seeded');

    await sys.deps.db('plans').where({ id: 'anonymous' }).update({ max_ttl_minutes: 120 });
    // no fixed sleep: create mailboxes until the new cap shows. Until the cache period has passed either cap is
    // right; after it (plus scheduling slack) only the new one is
    const deadline = Date.now() + PLAN_CACHE_MS + 5_000;
    let stale = 0;
    for (;;) {
      const startedAt = Date.now();
      const box = await sys.createMailbox('?ttl_minutes=600');
      if (box.ttl_minutes === 120) break;
      t.is(box.ttl_minutes, 60);
      t.true(
        startedAt - loadedBy < PLAN_CACHE_MS + 50,
        `still the old cap ${startedAt - loadedBy} ms after the plan was cached`,
      );
      stale++;
      if (Date.now() > deadline) {
        t.fail('the new cap never showed');
        return;
      }
      await new Promise((res) => setTimeout(res, 20));
    }
    t.log(`${stale} creation(s) inside the cache period still saw the old cap`);
    const after = await sys.createMailbox('?ttl_minutes=600');
    t.is(after.ttl_minutes, 120);
    t.is(Date.parse(after.expires_at) - Date.parse(after.created_at), 120 * sys.config.plans.ttlUnitMs);
  },
);

test("the seeded free plan caps an API-key caller's TTL at 60 minutes", async (t) => {
  const { sys } = t.context;
  const plan = await sys.deps.db('plans').where({ id: 'free' }).first();
  t.is(plan.max_ttl_minutes, 60);
  const { key } = await createUserWithKey(sys.deps.stores, 'free');
  const r = await sys.json('/api/v1/mailboxes?ttl_minutes=600', { method: 'POST', token: key });
  t.is(r.status, 201, JSON.stringify(r.body));
  t.is(r.body.ttl_minutes, 60);
  t.is(Date.parse(r.body.expires_at) - Date.parse(r.body.created_at), 60 * sys.config.plans.ttlUnitMs);
  const row = await sys.deps.db('mailboxes').where({ address: r.body.address }).first();
  t.is(row.plan_id, 'free');
});
