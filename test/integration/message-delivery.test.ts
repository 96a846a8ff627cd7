import anyTest, { type TestFn } from 'ava';
import type { Knex } from 'knex';
import { ulid } from 'ulid';
import { createStores, type Stores } from '../../src/store/index.js';
import { newMailbox as newStoreMailbox, newMessage, useStoreDatabase, type StoreContext } from '../helpers/store.js';

const test = anyTest as TestFn<StoreContext>;
useStoreDatabase(test, 8);

const newMailbox = (stores: Stores) => newStoreMailbox(stores);

const message = (mailboxId: string, ingressId?: string) =>
  newMessage(mailboxId, ingressId, {
    messageIdHeader: '<m@example.org>',
    fromName: 'Ä Sender',
    subject: 'delivery',
    headers: [{ name: 'subject', value: 'delivery' }],
    sentAt: new Date('2026-11-23T10:00:00Z'),
    raw: Buffer.from('Subject: delivery\r\n\r\nhello\r\n\xff', 'latin1'),
  });

const counters = async (db: Knex, id: string) => {
  const row = await db('mailboxes').where({ id }).first('last_seq', 'message_count', 'used_bytes');
  const rows = await db('messages').where({ mailbox_id: id }).count<{ n: string }[]>({ n: '*' });
  return {
    lastSeq: Number(row.last_seq),
    count: Number(row.message_count),
    bytes: Number(row.used_bytes),
    rows: Number(rows[0]!.n),
  };
};

test('a delivery is stored with its fields, the next seq and charged bytes; raw bytes are exact', async (t) => {
  const { db, stores } = t.context;
  const box = await newMailbox(stores);
  const m = message(box.id);
  const r = await stores.messages.deliver(m, { maxMessages: 10 });
  t.deepEqual(r, { status: 'stored', id: m.id, seq: 1 });
  const full = await stores.messages.get(box.id, m.id);
  t.is(full?.fromName, 'Ä Sender');
  t.deepEqual(full?.to, [{ address: 'x@mw.test', name: '' }]);
  t.deepEqual(full?.sentAt, new Date('2026-11-23T10:00:00Z'));
  t.true((await stores.messages.getRaw(box.id, m.id))!.equals(m.raw));
  t.deepEqual(await counters(db, box.id), { lastSeq: 1, count: 1, bytes: m.raw.length, rows: 1 });
});

test('the same ingress id delivered again is a duplicate: one row, charged once', async (t) => {
  const { db, stores } = t.context;
  const box = await newMailbox(stores);
  const ingressId = ulid();
  const first = await stores.messages.deliver(message(box.id, ingressId), { maxMessages: 10 });
  const again = await stores.messages.deliver(message(box.id, ingressId), { maxMessages: 10 });
  t.is(first.status, 'stored');
  t.deepEqual(again, { status: 'duplicate', id: (first as { id: string }).id, seq: 1 });
  t.is((await counters(db, box.id)).rows, 1);
  t.is((await counters(db, box.id)).count, 1);
});

test('concurrent twins of one job store exactly once and move the counters once', async (t) => {
  const { db, stores } = t.context;
  const box = await newMailbox(stores);
  const ingressId = ulid();
  const results = await Promise.all(
    Array.from({ length: 8 }, () => stores.messages.deliver(message(box.id, ingressId), { maxMessages: 100 })),
  );
  t.is(results.filter((r) => r.status === 'stored').length, 1);
  t.is(results.filter((r) => r.status === 'duplicate').length, 7);
  const stored = results.find((r) => r.status === 'stored') as { id: string };
  t.true(results.every((r) => r.status !== 'refused' && r.id === stored.id));
  const c = await counters(db, box.id);
  t.deepEqual({ lastSeq: c.lastSeq, count: c.count, rows: c.rows }, { lastSeq: 1, count: 1, rows: 1 });
});

test('concurrent deliveries to one mailbox get gap-free sequence numbers in commit order', async (t) => {
  const { db, stores } = t.context;
  const box = await newMailbox(stores);
  const results = await Promise.all(
    Array.from({ length: 40 }, () => stores.messages.deliver(message(box.id), { maxMessages: 1000 })),
  );
  const seqs = results.map((r) => (r.status === 'stored' ? r.seq : -1)).sort((a, b) => a - b);
  t.deepEqual(
    seqs,
    Array.from({ length: 40 }, (_, i) => i + 1),
  );
  const rows = await db('messages').where({ mailbox_id: box.id }).orderBy('seq').select('seq', 'stored_at');
  t.deepEqual(
    rows.map((r) => Number(r.seq)),
    seqs,
  );
  t.like(await counters(db, box.id), { lastSeq: 40, count: 40, rows: 40 });
});

test('the quota is atomic: concurrent deliveries never pass max messages, the rest are refused as full', async (t) => {
  const { db, stores } = t.context;
  const box = await newMailbox(stores);
  const results = await Promise.all(
    Array.from({ length: 20 }, () => stores.messages.deliver(message(box.id), { maxMessages: 5 })),
  );
  t.is(results.filter((r) => r.status === 'stored').length, 5);
  t.true(
    results.filter((r) => r.status !== 'stored').every((r) => r.status === 'refused' && r.reason === 'mailbox_full'),
  );
  t.like(await counters(db, box.id), { lastSeq: 5, count: 5, rows: 5 });
});

test('inactive, expired and unknown mailboxes are refused with their reason and nothing is stored', async (t) => {
  const { db, stores } = t.context;
  const inactive = await newMailbox(stores);
  await stores.mailboxes.deactivate(inactive.id, 'deleted');
  const expired = await newMailbox(stores);
  await db('mailboxes')
    .where({ id: expired.id })
    .update({ expires_at: db.raw(`now() - interval '1 second'`) });
  t.deepEqual(await stores.messages.deliver(message(inactive.id), { maxMessages: 10 }), {
    status: 'refused',
    reason: 'mailbox_inactive',
  });
  t.deepEqual(await stores.messages.deliver(message(expired.id), { maxMessages: 10 }), {
    status: 'refused',
    reason: 'mailbox_expired',
  });
  const unknown = '00000000-0000-4000-8000-000000000000';
  t.deepEqual(await stores.messages.deliver(message(unknown), { maxMessages: 10 }), {
    status: 'refused',
    reason: 'unknown_mailbox',
  });
  t.is((await counters(db, inactive.id)).rows + (await counters(db, expired.id)).rows, 0);
});

test('a delivery inside a transaction is rolled back with it', async (t) => {
  const { db } = t.context;
  const box = await newMailbox(t.context.stores);
  await t.throwsAsync(
    db.transaction(async (trx) => {
      const r = await createStores(trx).messages.deliver(message(box.id), { maxMessages: 10 });
      t.is(r.status, 'stored');
      throw new Error('roll back');
    }),
    { message: 'roll back' },
  );
  t.like(await counters(db, box.id), { lastSeq: 0, count: 0, rows: 0 });
});
