import anyTest, { type TestFn } from 'ava';
import { randomBytes } from 'node:crypto';
import { ulid } from 'ulid';
import type { PipelineDeps, WithPlan } from '../../src/pipeline/context.js';
import { Dropped } from '../../src/pipeline/dropped.js';
import { cachedMailboxLookup } from '../../src/pipeline/mailbox-cache.js';
import { checkQuota } from '../../src/pipeline/steps/check-quota.js';
import type { Stores } from '../../src/store/index.js';
import { newMailbox as newStoreMailbox, useStoreDatabase, type StoreContext } from '../helpers/store.js';

const test = anyTest as TestFn<StoreContext>;
useStoreDatabase(test, 4);

const newMailbox = (stores: Stores) => newStoreMailbox(stores, { planId: 'free' });

test('a deliverable mailbox is served from the cache within its TTL; with TTL 0 every lookup reads fresh', async (t) => {
  const { db, stores } = t.context;
  const box = await newMailbox(stores);
  const cached = cachedMailboxLookup(stores.mailboxes, { ttlMs: 60_000, maxEntries: 10 });
  const uncached = cachedMailboxLookup(stores.mailboxes, { ttlMs: 0, maxEntries: 10 });
  t.is((await cached(box.address))?.planId, 'free');
  await db('mailboxes').where({ id: box.id }).update({ plan_id: 'pro' });
  t.is((await cached(box.address))?.planId, 'free');
  t.is((await uncached(box.address))?.planId, 'pro');
});

test('refusals are always decided on a fresh read: unknown, inactive and expired results are never cached', async (t) => {
  const { db, stores } = t.context;
  const cached = cachedMailboxLookup(stores.mailboxes, { ttlMs: 60_000, maxEntries: 10 });
  const box = await newMailbox(stores);
  await stores.mailboxes.deactivate(box.id, 'deleted');
  t.false((await cached(box.address))!.isActive);
  await db('mailboxes').where({ id: box.id }).update({ is_active: true });
  t.true((await cached(box.address))!.isActive);

  const expiring = await newMailbox(stores);
  await db('mailboxes')
    .where({ id: expiring.id })
    .update({ expires_at: db.raw(`now() - interval '1 second'`) });
  t.true((await cached(expiring.address))!.expiresAt!.getTime() <= Date.now());
  await db('mailboxes')
    .where({ id: expiring.id })
    .update({ expires_at: db.raw(`now() + interval '1 hour'`) });
  t.true((await cached(expiring.address))!.expiresAt!.getTime() > Date.now());

  const address = `late${randomBytes(4).toString('hex')}@mw.test`;
  t.is(await cached(address), undefined);
  await stores.mailboxes.create({ address, ownerUserId: null, planId: 'free', ttlMs: 3_600_000 });
  t.is((await cached(address))?.address, address);
});

test('the cache holds at most maxEntries mailboxes (oldest evicted first)', async (t) => {
  const { db, stores } = t.context;
  const cached = cachedMailboxLookup(stores.mailboxes, { ttlMs: 60_000, maxEntries: 2 });
  const [a, b, c] = [await newMailbox(stores), await newMailbox(stores), await newMailbox(stores)];
  for (const box of [a, b, c]) await cached(box.address);
  await db('mailboxes').whereIn('id', [a.id, c.id]).update({ plan_id: 'pro' });
  t.is((await cached(a.address))?.planId, 'pro'); // evicted, read fresh
  t.is((await cached(c.address))?.planId, 'free'); // still cached
});

test('check-quota confirms "full" on a fresh read: a stale cached count never drops a delivery', async (t) => {
  const { stores } = t.context;
  const box = await newMailbox(stores);
  const plan = (await stores.plans.get('free'))!;
  const deps = { stores } as unknown as PipelineDeps;
  const delivery = (messageCount: number): WithPlan => ({
    job: {
      v: 1,
      ingressId: ulid(),
      source: 'smtp',
      receivedAt: new Date().toISOString(),
      envelope: { from: null, to: [box.address] },
      rawBase64: '',
      remoteAddress: null,
    },
    recipient: box.address,
    tag: null,
    raw: Buffer.from('x'),
    parse: async () => {
      throw new Error('not parsed here');
    },
    mailbox: { ...box, messageCount },
    plan,
  });
  // the cached copy claims the mailbox is full, the database says it is empty: not dropped
  const stale = delivery(plan.maxMessagesPerMailbox);
  t.is(await checkQuota(stale, deps), stale);
  // really full: dropped as mailbox_full
  await t.context.db('mailboxes').where({ id: box.id }).update({ message_count: plan.maxMessagesPerMailbox });
  const err = await t.throwsAsync(checkQuota(delivery(plan.maxMessagesPerMailbox), deps));
  t.true(err instanceof Dropped && err.reason === 'mailbox_full');
});
