import anyTest, { type TestFn } from 'ava';
import { claimOutbound } from '../../src/store/outbound-delivery.js';
import { outboundWebhookEvent } from '../../src/store/outbound-webhook-events.js';
import { eventTypes, outboundEnv, outboundRow, postSend, senderMailbox } from '../helpers/outbound.js';
import { startSystem, type System } from '../helpers/system.js';

// The worker's claim (store/outbound-delivery.ts, one statement) on rows the API wrote, with no worker running:
// every branch of the decision, and what it writes.
const test = anyTest as TestFn<{ sys: System; key: string; address: string }>;
const LOCK_MS = 60_000;

test.before(async (t) => {
  const sys = await startSystem({ roles: ['web'], env: outboundEnv('smtp://127.0.0.1:9') });
  const { tenant, address } = await senderMailbox(sys);
  t.context = { sys, key: tenant.apiKey, address };
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

const accept = async (t: { context: { sys: System; key: string; address: string } }, to: string) => {
  const r = await postSend(t.context.sys, t.context.address, t.context.key, { to: [to], subject: 's', text: 't' });
  if (r.status !== 202) throw new Error(`send: ${r.status}`);
  return r.body.messages[0].id as string;
};

test('queued and due: claimed (sending, attempts 1, envelope_from, the sending event); a second claim is busy', async (t) => {
  const { sys } = t.context;
  const id = await accept(t, 'claim1@example.org');
  const c = await claimOutbound(sys.deps.db, id, 'env@mw.test', LOCK_MS);
  t.deepEqual(c, { kind: 'claimed', attempt: 1, recovered: false });
  const row = await outboundRow(sys, id);
  t.is(row.status, 'sending');
  t.is(row.attempts, 1);
  t.is(row.envelope_from, 'env@mw.test');
  t.truthy(row.processing_started_at);
  t.deepEqual(await eventTypes(sys, id), ['queued', 'sending']);
  const again = await claimOutbound(sys.deps.db, id, 'env@mw.test', LOCK_MS);
  t.is(again.kind, 'busy', 'a live claim is never taken over');
  t.true(again.kind === 'busy' && again.staleAt.getTime() > Date.now() + LOCK_MS / 2);
  t.is((await outboundRow(sys, id)).attempts, 1, 'nothing written');
});

test('a claim older than the lock is recovered: attempts 2, sending {"recovered": true}', async (t) => {
  const { sys } = t.context;
  const id = await accept(t, 'claim2@example.org');
  await claimOutbound(sys.deps.db, id, 'env@mw.test', LOCK_MS);
  await sys.deps
    .db('outbound_messages')
    .where({ id })
    .update({ processing_started_at: sys.deps.db.raw(`now() - interval '2 minutes'`) });
  t.deepEqual(await claimOutbound(sys.deps.db, id, 'env@mw.test', LOCK_MS), {
    kind: 'claimed',
    attempt: 2,
    recovered: true,
  });
  const events = await sys.deps.db('outbound_message_events').where({ outbound_message_id: id }).orderBy('id');
  t.deepEqual(events.at(-1).payload, { attempt: 2, recovered: true });
});

test('queued but not due: not_due with its next_retry_at, nothing written', async (t) => {
  const { sys } = t.context;
  const id = await accept(t, 'claim3@example.org');
  const at = new Date(Date.now() + 3_600_000);
  await sys.deps.db('outbound_messages').where({ id }).update({ next_retry_at: at });
  const c = await claimOutbound(sys.deps.db, id, 'env@mw.test', LOCK_MS);
  t.is(c.kind, 'not_due');
  t.is(c.kind === 'not_due' && c.nextRetryAt.getTime(), at.getTime());
  t.is((await outboundRow(sys, id)).status, 'queued');
  t.deepEqual(await eventTypes(sys, id), ['queued']);
});

test('suppressed after acceptance (other letter case): suppressed, no attempt, the suppressed event with its reason', async (t) => {
  const { sys, address, key } = t.context;
  const id = await accept(t, 'claim4@example.org');
  const sup = await sys.json(`/api/v1/mailboxes/${encodeURIComponent(address)}/suppressions`, {
    method: 'POST',
    token: key,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ recipient: 'CLAIM4@Example.org', reason: 'complaint' }),
  });
  t.is(sup.status, 201);
  t.deepEqual(await claimOutbound(sys.deps.db, id, 'env@mw.test', LOCK_MS), {
    kind: 'suppressed',
    webhookDeliveries: [],
  });
  const row = await outboundRow(sys, id);
  t.is(row.status, 'suppressed');
  t.is(row.attempts, 0);
  t.is(row.envelope_from, null);
  const events = await sys.deps.db('outbound_message_events').where({ outbound_message_id: id }).orderBy('id');
  t.deepEqual(
    events.map((e: { type: string }) => e.type),
    ['queued', 'suppressed'],
  );
  t.deepEqual(events[1].payload, { reason: 'suppressed_recipient', suppression_reason: 'complaint' });
  t.deepEqual(await claimOutbound(sys.deps.db, id, 'env@mw.test', LOCK_MS), { kind: 'skip', status: 'suppressed' });
});

test('sent, or a row that does not exist: skip', async (t) => {
  const { sys } = t.context;
  const id = await accept(t, 'claim5@example.org');
  await sys.deps.db('outbound_messages').where({ id }).update({ status: 'sent' });
  t.deepEqual(await claimOutbound(sys.deps.db, id, 'env@mw.test', LOCK_MS), { kind: 'skip', status: 'sent' });
  t.deepEqual(await claimOutbound(sys.deps.db, '00000000-0000-4000-8000-000000000000', 'e@mw.test', LOCK_MS), {
    kind: 'skip',
    status: 'missing',
  });
});

test('two claims at once: exactly one is claimed', async (t) => {
  const { sys } = t.context;
  const id = await accept(t, 'claim6@example.org');
  const results = await Promise.all(
    Array.from({ length: 6 }, () => claimOutbound(sys.deps.db, id, 'env@mw.test', LOCK_MS)),
  );
  t.is(results.filter((r) => r.kind === 'claimed').length, 1);
  t.is(results.filter((r) => r.kind === 'busy').length, 5);
  t.is((await outboundRow(sys, id)).attempts, 1);
});

test('`sending` is no webhook event: the claim may write its row without the webhook ledger', (t) => {
  // store/outbound-delivery.ts writes the `sending` event inside its one claim statement; should `sending` ever
  // become a webhook event, the claim must write it through appendOutboundEvents instead
  const row = { id: 1, outbound_message_id: 'm', type: 'sending', occurred_at: new Date(), payload: { attempt: 1 } };
  const ref = {
    id: 'm',
    mailbox_id: 'b',
    mailbox_address: 'a@mw.test',
    recipient_email: 'r@example.org',
    subject: 's',
    message_id: '<x@mw.test>',
    status: 'sending',
  };
  t.is(outboundWebhookEvent(row, ref), undefined);
  t.not(outboundWebhookEvent({ ...row, type: 'sent' }, ref), undefined, 'while `sent` is one');
});
