import anyTest, { type TestFn } from 'ava';
import type { Gauge } from 'prom-client';
import { enqueueInbound } from '../../src/ingress/enqueue.js';
import { startWorker, type WorkerRole } from '../../src/roles/worker.js';
import { startSystem, type System } from '../helpers/system.js';

// WORKER_MAX_BYTES_IN_FLIGHT (issue 24, item 6): one worker decodes, parses and stores at most that many raw
// bytes at once, whatever WORKER_CONCURRENCY allows, and small mail still goes through a burst of large mail.
const BUDGET = 64 * 1024;
const LARGE = 40 * 1024; // two do not fit in the budget together
const test = anyTest as TestFn<{ sys: System; worker: WorkerRole; storing: { now: number; most: number } }>;

test.before(async (t) => {
  // the worker is started by hand, after the store's delivery write is wrapped: the wrapper measures the raw bytes
  // inside the store stage at once, independently of the worker's own gauge, and holds each write for a time that
  // grows with its size (~100 ms for a large message, ~2 ms for a small one), so that deliveries that run together
  // overlap there and the order of the commits follows the order of admission
  const sys = await startSystem({
    roles: ['web'],
    env: { WORKER_MAX_BYTES_IN_FLIGHT: String(BUDGET), WORKER_CONCURRENCY: '16', DELIVERY_BATCH_ITEM_MAX_BYTES: '0' },
  });
  const storing = { now: 0, most: 0 };
  const messages = sys.deps.stores.messages;
  const deliver = messages.deliver.bind(messages);
  messages.deliver = async (m, limits) => {
    storing.now += m.raw.length;
    storing.most = Math.max(storing.most, storing.now);
    try {
      await new Promise((r) => setTimeout(r, Math.ceil(m.raw.length / 400)));
      return await deliver(m, limits);
    } finally {
      storing.now -= m.raw.length;
    }
  };
  t.context = { sys, storing, worker: await startWorker(sys.deps) };
});
test.after.always(async (t) => {
  await t.context.worker?.close();
  await t.context.sys?.stop();
});

const mail = (to: string, subject: string, bodyBytes: number) => {
  const head = `From: a@example.org\r\nTo: ${to}\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@example.org>\r\n\r\n`;
  const line = 'z'.repeat(78) + '\r\n';
  return Buffer.from(head + line.repeat(Math.ceil(bodyBytes / line.length)));
};

const gauge = async (sys: System, name: string) => {
  const metric = sys.deps.metrics.registry.getSingleMetric(name) as Gauge | undefined;
  return (await metric?.get())?.values[0]?.value;
};

test.serial(
  'a burst of large messages never holds more than WORKER_MAX_BYTES_IN_FLIGHT; small mail still goes through',
  async (t) => {
    const { sys, storing } = t.context;
    const box = await sys.createMailbox();
    const enqueue = (subject: string, bytes: number) =>
      enqueueInbound(
        sys.deps.queues,
        {
          source: 'smtp',
          envelope: { from: 'a@example.org', to: [box.address] },
          raw: mail(box.address, subject, bytes),
        },
        5_000,
      );
    // a burst: the large ones first, then the small ones behind them in the same queue, all waiting when the worker
    // starts taking them
    const inbound = t.context.worker.inbound;
    await inbound.pause(true);
    for (let i = 0; i < 20; i++) await enqueue(`large-${i}`, LARGE);
    for (let i = 0; i < 5; i++) await enqueue(`small-${i}`, 500);
    void inbound.resume();

    const list = await sys.waitForMessages(box.address, box.token, 25, 60_000);
    t.is(list.length, 25);
    t.true(storing.most > 0);
    t.true(storing.most <= BUDGET, `at most ${BUDGET} raw bytes were being stored at once (saw ${storing.most})`);
    const peak = await gauge(sys, 'mailwright_worker_bytes_in_flight_peak');
    t.truthy(peak, 'the peak gauge is exported');
    t.true(peak! <= BUDGET, `the worker's peak gauge stays within the budget (${peak})`);
    t.true(peak! > LARGE, 'a large message and small ones ran together');
    t.is(await gauge(sys, 'mailwright_worker_bytes_in_flight'), 0, 'nothing in flight once the burst is delivered');
    t.is(await gauge(sys, 'mailwright_worker_jobs_waiting_for_bytes'), 0);

    // small mail overtook large mail waiting for room: every small one was stored before the last large one
    const seqOf = async (prefix: string) => {
      const rows = await sys.deps.db('messages').where('subject', 'like', `${prefix}%`).select('seq');
      return rows.map((r: { seq: string | number }) => Number(r.seq));
    };
    const [smalls, larges] = [await seqOf('small-'), await seqOf('large-')];
    t.is(smalls.length, 5);
    t.true(Math.max(...smalls) < Math.max(...larges), `small seqs ${smalls.join(',')} before the last large`);
  },
);

test.serial('a message larger than the whole budget is delivered alone, not refused', async (t) => {
  const { sys, storing } = t.context;
  const box = await sys.createMailbox();
  storing.most = 0;
  await enqueueInbound(
    sys.deps.queues,
    {
      source: 'smtp',
      envelope: { from: 'a@example.org', to: [box.address] },
      raw: mail(box.address, 'huge-one', BUDGET * 2),
    },
    5_000,
  );
  const list = await sys.waitForMessages(box.address, box.token, 1, 30_000);
  t.is(list[0].subject, 'huge-one');
  t.true(storing.most > BUDGET && storing.most < BUDGET * 3, `alone in the store stage (${storing.most})`);
});
