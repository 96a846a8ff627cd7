import anyTest, { type TestFn } from 'ava';
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import pg from 'pg';
import { ulid } from 'ulid';
import { createDeliveryBatcher, type BatchReport } from '../../src/pipeline/batcher.js';
import { createStores, type Stores } from '../../src/store/index.js';
import type { DeliveryOutcome } from '../../src/store/message-delivery.js';
import { newMailbox as newStoreMailbox, newMessage, useStoreDatabase, type StoreContext } from '../helpers/store.js';

const test = anyTest as TestFn<StoreContext>;
useStoreDatabase(test, 8);

const newMailbox = (stores: Stores) => newStoreMailbox(stores);

let n = 0;
const message = (mailboxId: string, ingressId?: string) => {
  const k = ++n;
  return newMessage(mailboxId, ingressId, {
    fromName: 'Ä "quoted" \\ name',
    subject: `batch ${k}`,
    text: 'hello {braces}, "quotes" and \\ backslash',
    headers: [{ name: 'subject', value: `batch ${k}` }],
    raw: Buffer.concat([Buffer.from(`Subject: batch ${k}\r\n\r\n`), randomBytes(64)]),
  });
};

const counters = async (db: Knex, id: string) => {
  const row = await db('mailboxes').where({ id }).first('last_seq', 'message_count', 'used_bytes');
  const seqs = (await db('messages').where({ mailbox_id: id }).orderBy('seq').select('seq')).map((r) => Number(r.seq));
  return { lastSeq: Number(row.last_seq), count: Number(row.message_count), bytes: Number(row.used_bytes), seqs };
};
const upTo = (k: number) => Array.from({ length: k }, (_, i) => i + 1);
const limits = (maxMessages: number) => ({ maxMessages });

test('one batch across several mailboxes stores each item once, seq in arrival order per mailbox, fields and bytes exact', async (t) => {
  const { db, stores } = t.context;
  const boxes = [await newMailbox(stores), await newMailbox(stores), await newMailbox(stores)];
  const items = Array.from({ length: 12 }, (_, i) => ({
    message: message(boxes[(i * 7) % 3]!.id),
    limits: limits(100),
  }));
  const out = await stores.messages.deliverBatch(items);
  for (const box of boxes) {
    const mine = items.map((it, i) => ({ it, o: out[i]! })).filter(({ it }) => it.message.mailboxId === box.id);
    t.deepEqual(
      mine.map(({ o }) => o),
      mine.map(({ it }, k) => ({ status: 'stored', id: it.message.id, seq: k + 1 })),
    );
    const bytes = mine.reduce((s, { it }) => s + it.message.raw.length, 0);
    t.deepEqual(await counters(db, box.id), { lastSeq: 4, count: 4, bytes, seqs: upTo(4) });
  }
  const full = await stores.messages.get(boxes[0]!.id, items[0]!.message.id);
  t.is(full?.fromName, 'Ä "quoted" \\ name');
  t.is(full?.text, 'hello {braces}, "quotes" and \\ backslash');
  t.true((await stores.messages.getRaw(boxes[0]!.id, items[0]!.message.id))!.equals(items[0]!.message.raw));
});

test('twins inside a batch and already stored ingress ids are duplicates of the stored copy', async (t) => {
  const { db, stores } = t.context;
  const box = await newMailbox(stores);
  const earlier = message(box.id);
  const first = await stores.messages.deliver(earlier, limits(100));
  const twinId = ulid();
  const out = await stores.messages.deliverBatch([
    { message: message(box.id, twinId), limits: limits(100) },
    { message: message(box.id, earlier.ingressId), limits: limits(100) },
    { message: message(box.id, twinId), limits: limits(100) },
  ]);
  t.is(out[0]!.status, 'stored');
  t.deepEqual(out[1], { ...first, status: 'duplicate' });
  t.deepEqual(out[2], { ...out[0]!, status: 'duplicate' });
  t.like(await counters(db, box.id), { lastSeq: 2, count: 2, seqs: [1, 2] });
});

test('the quota boundary inside one batch: only what fits is stored, gap-free; the rest is refused as full', async (t) => {
  const { db, stores } = t.context;
  const box = await newMailbox(stores);
  const other = await newMailbox(stores);
  await stores.messages.deliver(message(box.id), limits(3));
  const items = [box, other, box, box, other, box].map((b) => ({ message: message(b.id), limits: limits(3) }));
  const out = await stores.messages.deliverBatch(items);
  t.deepEqual(
    out.map((o) => (o.status === 'refused' ? o.reason : o.status)),
    ['stored', 'stored', 'stored', 'mailbox_full', 'stored', 'mailbox_full'],
  );
  t.like(await counters(db, box.id), { lastSeq: 3, count: 3, seqs: [1, 2, 3] });
  t.like(await counters(db, other.id), { lastSeq: 2, count: 2, seqs: [1, 2] });
});

test('inactive, expired and unknown mailboxes in a batch are refused with their reason; the others store', async (t) => {
  const { db, stores } = t.context;
  const ok = await newMailbox(stores);
  const inactive = await newMailbox(stores);
  await stores.mailboxes.deactivate(inactive.id, 'deleted');
  const expired = await newMailbox(stores);
  await db('mailboxes')
    .where({ id: expired.id })
    .update({ expires_at: db.raw(`now() - interval '1 second'`) });
  const unknown = '00000000-0000-4000-8000-000000000000';
  const out = await stores.messages.deliverBatch(
    [ok.id, inactive.id, expired.id, unknown, ok.id].map((id) => ({ message: message(id), limits: limits(10) })),
  );
  t.deepEqual(
    out.map((o) => (o.status === 'refused' ? o.reason : o.status)),
    ['stored', 'mailbox_inactive', 'mailbox_expired', 'unknown_mailbox', 'stored'],
  );
  t.like(await counters(db, ok.id), { count: 2, seqs: [1, 2] });
  t.is((await counters(db, inactive.id)).seqs.length + (await counters(db, expired.id)).seqs.length, 0);
});

test('concurrent batches over the same mailboxes in opposite orders neither deadlock nor leave seq gaps', async (t) => {
  const { db, stores } = t.context;
  const boxes = await Promise.all(Array.from({ length: 5 }, () => newMailbox(stores)));
  const batches = Array.from({ length: 12 }, (_, b) => {
    const order = b % 2 === 0 ? boxes : [...boxes].reverse();
    return order
      .flatMap((box) => [message(box.id), message(box.id)])
      .map((m) => ({ message: m, limits: limits(1000) }));
  });
  const outs = await Promise.all(batches.map((items) => stores.messages.deliverBatch(items)));
  t.true(outs.flat().every((o) => o.status === 'stored'));
  for (const box of boxes) t.like(await counters(db, box.id), { lastSeq: 24, count: 24, seqs: upTo(24) });
});

test('batcher: concurrent deliveries across mailboxes are grouped, each stored exactly once with gap-free seq', async (t) => {
  const { db, stores } = t.context;
  const boxes = await Promise.all(Array.from({ length: 4 }, () => newMailbox(stores)));
  const reports: BatchReport[] = [];
  const batcher = createDeliveryBatcher(
    stores.messages,
    { maxItems: 16, maxWaitMs: 2, maxInFlight: 2, maxItemBytes: 1 << 20 },
    (r) => reports.push(r),
  );
  const msgs = Array.from({ length: 120 }, (_, i) => message(boxes[i % 4]!.id));
  // a re-run job delivers the same ingress id again while the first copy may still be in flight
  const twins = msgs.slice(0, 10).map((m) => ({ ...m, id: ulid() }));
  const out = await Promise.all([...msgs, ...twins].map((m) => batcher.deliver(m, limits(1000))));
  await batcher.drain();
  t.true(out.slice(0, 120).every((o, i) => o.status === 'stored' || (i < 10 && o.status === 'duplicate')));
  t.is(out.filter((o) => o.status === 'stored').length, 120);
  for (const box of boxes) t.like(await counters(db, box.id), { lastSeq: 30, count: 30, seqs: upTo(30) });
  t.true(
    reports.some((r) => r.size > 1),
    `batch sizes ${reports.map((r) => r.size).join(',')}`,
  );
  t.true(reports.every((r) => !r.fallback));
  t.is(
    reports.reduce((s, r) => s + r.size, 0),
    130,
  );
});

test('batcher: a failing item fails only itself; its batch-mates are stored after the batch falls back', async (t) => {
  const { db, stores } = t.context;
  const box = await newMailbox(stores);
  const reports: BatchReport[] = [];
  const batcher = createDeliveryBatcher(
    stores.messages,
    { maxItems: 8, maxWaitMs: 20, maxInFlight: 1, maxItemBytes: 1 << 20 },
    (r) => reports.push(r),
  );
  const good = Array.from({ length: 5 }, () => message(box.id));
  const bad = message('not-a-uuid'); // the whole batch statement fails on it
  const settled = await Promise.allSettled(
    [...good.slice(0, 2), bad, ...good.slice(2)].map((m) => batcher.deliver(m, limits(100))),
  );
  await batcher.drain(); // the batch is reported once every item has its outcome
  t.is(settled[2]!.status, 'rejected');
  const ok = settled.filter((_, i) => i !== 2).map((s) => (s as PromiseFulfilledResult<DeliveryOutcome>).value);
  t.true(ok.every((o) => o.status === 'stored'));
  t.true(
    reports.some((r) => r.fallback && r.size === 6),
    `reports ${JSON.stringify(reports.map(({ size, fallback }) => ({ size, fallback })))}`,
  );
  t.like(await counters(db, box.id), { lastSeq: 5, count: 5, seqs: upTo(5) });
});

test('a twin committed while a batch waits for the mailbox lock fails the batch whole; the fallback reports the duplicate', async (t) => {
  const { db, database, stores } = t.context;
  const box = await newMailbox(stores);
  const twin = message(box.id);
  const mate = message(box.id);
  // another transaction holds the mailbox row lock and stores the twin, uncommitted
  const trx = await db.transaction();
  const inTrx = await createStores(trx).messages.deliver(twin, limits(100));
  t.is(inTrx.status, 'stored');
  const holder = Number((await trx.raw('select pg_backend_pid() as pid')).rows[0].pid);
  const reports: BatchReport[] = [];
  const batcher = createDeliveryBatcher(
    stores.messages,
    { maxItems: 8, maxWaitMs: 5, maxInFlight: 1, maxItemBytes: 1 << 20 },
    (r) => reports.push(r),
  );
  const pending = Promise.all([
    batcher.deliver({ ...twin, id: ulid() }, limits(100)),
    batcher.deliver(mate, limits(100)),
  ]);
  // wait until the batch statement is blocked by that transaction, then commit the twin
  const admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
  try {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const r = await admin.query(`select 1 from pg_stat_activity where $1 = any(pg_blocking_pids(pid))`, [holder]);
      if (r.rowCount) break;
      if (Date.now() > deadline) throw new Error('the batch never waited for the lock');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } finally {
    await admin.end();
  }
  await trx.commit();
  const [twinOut, mateOut] = await pending;
  await batcher.drain();
  t.deepEqual(twinOut, { status: 'duplicate', id: twin.id, seq: 1 });
  t.deepEqual(mateOut, { status: 'stored', id: mate.id, seq: 2 });
  t.true(
    reports.some((r) => r.fallback && /concurrent twin/.test(String((r.err as Error).message))),
    JSON.stringify(reports.map((r) => ({ ...r, err: String(r.err) }))),
  );
  t.like(await counters(db, box.id), { lastSeq: 2, count: 2, seqs: [1, 2] });
});

test('batcher: a message above maxItemBytes bypasses batching and is stored by the one-item write', async (t) => {
  const { db, stores } = t.context;
  const box = await newMailbox(stores);
  const reports: BatchReport[] = [];
  const batcher = createDeliveryBatcher(
    stores.messages,
    { maxItems: 8, maxWaitMs: 5, maxInFlight: 1, maxItemBytes: 100 },
    (r) => reports.push(r),
  );
  const big = { ...message(box.id), raw: randomBytes(5000) };
  const small = message(box.id);
  small.raw = small.raw.subarray(0, 50);
  const [bigOut, smallOut] = await Promise.all([batcher.deliver(big, limits(10)), batcher.deliver(small, limits(10))]);
  await batcher.drain();
  t.is(bigOut.status, 'stored');
  t.is(smallOut.status, 'stored');
  t.deepEqual(
    reports.map((r) => r.size),
    [1],
  ); // only the small one went through the batcher
  t.true((await stores.messages.getRaw(box.id, big.id))!.equals(big.raw));
  t.like(await counters(db, box.id), { count: 2, seqs: [1, 2] });
});
