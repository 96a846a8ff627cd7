import anyTest, { type TestFn } from 'ava';
import { createTokenSigner } from '../../src/access/tokens.js';
import { expiryJobId } from '../../src/queue/maintenance-jobs.js';
import { eventually, listenToMailbox } from '../helpers/events.js';
import { startSystem, type System } from '../helpers/system.js';
import { createUserWithKey } from '../helpers/users.js';

// 1 TTL "minute" = 1 s: the anonymous plan's cap of 60 minutes is 60 s here.
const UNIT = 1_000;
const test = anyTest as TestFn<{ sys: System }>;
test.before(async (t) => {
  t.context.sys = await startSystem({ env: { TTL_UNIT_MS: String(UNIT), SWEEP_INTERVAL_MS: '3600000' } });
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

const row = (sys: System, address: string) => sys.deps.db('mailboxes').where({ address }).first();
const patch = (sys: System, address: string, query: string, token: string) =>
  sys.json(`/api/v1/mailboxes/${address}${query}`, { method: 'PATCH', token });

test('PATCH beyond the plan cap is capped, measured from creation; tokens and the expiry job follow', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox('?ttl_minutes=10');
  const before = await row(sys, box.address);
  // a token minted with a shorter life of its own must keep it
  const signer = createTokenSigner(sys.config.tokenSecret!);
  const short = await signer.sign(before.id, ['read']);
  const shortExpiry = new Date(before.created_at.getTime() + 30 * UNIT);
  await sys.deps.stores.tokens.insert({
    jti: short.jti,
    mailboxId: before.id,
    userId: null,
    name: 'short',
    permissions: ['read'],
    expiresAt: shortExpiry,
  });

  const r = await patch(sys, box.address, '?ttl_minutes=100000', box.token);
  t.is(r.status, 200);
  t.is(r.body.ttl_minutes, 60, 'capped at the plan maximum');
  const after = await row(sys, box.address);
  t.is(after.expires_at.getTime() - after.created_at.getTime(), 60 * UNIT, 'expires_at = created_at + capped TTL');
  t.is(r.body.expires_at, after.expires_at.toISOString().replace(/\.\d{3}Z$/, '+00:00'));
  t.true(r.body.is_active);

  const tokens = await sys.deps.stores.tokens.listByMailbox(before.id);
  t.is(
    tokens.find((x) => x.name === 'creator')!.expiresAt.getTime(),
    after.expires_at.getTime(),
    'the creator token lives as long as the mailbox',
  );
  t.is(tokens.find((x) => x.name === 'short')!.expiresAt.getTime(), shortExpiry.getTime());

  const job = await sys.deps.queues.maintenance.getJob(expiryJobId(before.id));
  t.true(
    Math.abs(job!.timestamp + job!.delay - after.expires_at.getTime()) < 100,
    'the expiry job moved to the new expires_at',
  );

  const shorter = await patch(sys, box.address, '?ttl_minutes=40', box.token);
  t.is(shorter.status, 200);
  t.is(shorter.body.ttl_minutes, 40);
  t.is((await row(sys, box.address)).expires_at.getTime() - before.created_at.getTime(), 40 * UNIT);

  const readOnly = await patch(sys, box.address, '?ttl_minutes=20', short.token);
  t.is(readOnly.status, 403);
  t.is(readOnly.body.error.code, 'insufficient_permission');
});

test('PATCH to a TTL that has already elapsed expires the mailbox at once', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox('?ttl_minutes=50');
  const { id, created_at: createdAt } = await row(sys, box.address);
  const events = await listenToMailbox(sys.config.redis.prefix, id);
  try {
    await eventually(async () => (Date.now() > createdAt.getTime() + UNIT + 20 ? true : undefined), 3_000, 20); // let 1 unit pass
    const r = await patch(sys, box.address, '?ttl_minutes=1', box.token);
    t.is(r.status, 200);
    t.false(r.body.is_active);
    const after = await row(sys, box.address);
    t.false(after.is_active);
    t.is(after.deactivated_reason, 'expired');
    t.is(await sys.deps.queues.maintenance.getJob(expiryJobId(id)), undefined, 'no expiry job is left behind');
    t.deepEqual(await events.next('mailbox_expired'), { type: 'mailbox_expired', mailboxId: id, reason: 'expired' });
    const again = await patch(sys, box.address, '?ttl_minutes=60', box.token);
    t.is(again.status, 410, 'an ended mailbox cannot be revived');
    t.is(again.body.error.code, 'mailbox_expired');
  } finally {
    events.close();
  }
});

test('PATCH validates its input and works with the owner API key', async (t) => {
  const { sys } = t.context;
  const { apiKey } = await createUserWithKey(sys.deps.stores, 'free');
  const box = await sys.createMailbox('?ttl_minutes=30', apiKey);
  for (const q of ['', '?ttl_minutes=0', '?ttl_minutes=abc', '?ttl_minutes=5&x=1']) {
    const r = await patch(sys, box.address, q, apiKey);
    t.is(r.status, 400, q);
    t.truthy(r.body.error.code);
  }
  const ok = await patch(sys, box.address, '?ttl_minutes=7', apiKey);
  t.is(ok.status, 200);
  t.is(ok.body.ttl_minutes, 7);
  const other = await createUserWithKey(sys.deps.stores, 'free');
  t.is(
    (await patch(sys, box.address, '?ttl_minutes=7', other.apiKey)).status,
    404,
    "another user's mailbox is invisible",
  );
  t.is((await sys.api(`/api/v1/mailboxes/${box.address}`, { method: 'DELETE', token: apiKey })).status, 204);
  const gone = await patch(sys, box.address, '?ttl_minutes=7', apiKey);
  t.is(gone.status, 410);
  t.is(gone.body.error.code, 'mailbox_deleted');
});
