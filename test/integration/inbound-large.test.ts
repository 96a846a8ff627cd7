import anyTest, { type TestFn } from 'ava';
import { Job } from 'bullmq';
import { enqueueInbound } from '../../src/ingress/enqueue.js';
import { RawSmtp } from '../helpers/smtp-client.js';
import { startSystem, type System } from '../helpers/system.js';

// Small mail goes to `inbound` (WORKER_CONCURRENCY at a time), mail above WORKER_LARGE_MESSAGE_BYTES to
// `inbound-large` (WORKER_LARGE_CONCURRENCY at a time): the worker's memory stays bounded by size class.
const LARGE = 8192;
const test = anyTest as TestFn<{ sys: System }>;
test.before(async (t) => {
  t.context.sys = await startSystem({
    env: {
      QUEUE_KEEP_COMPLETED: '1000',
      WORKER_LARGE_MESSAGE_BYTES: String(LARGE),
      WORKER_LARGE_CONCURRENCY: '1',
      WORKER_CONCURRENCY: '8',
    },
  });
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

const mail = (to: string, subject: string, bodyBytes: number) => {
  const head = `From: a@example.org\r\nTo: ${to}\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@example.org>\r\n\r\n`;
  const line = 'z'.repeat(78) + '\r\n';
  return head + line.repeat(Math.ceil(bodyBytes / line.length));
};
const queuedId = (reply: string) => /^250 2\.0\.0 Ok: queued as ([0-9A-Z]{26})$/.exec(reply)?.[1];

test('routing: a message of exactly WORKER_LARGE_MESSAGE_BYTES stays in inbound, one byte more goes to inbound-large', (t) => {
  const { queues } = t.context.sys.deps;
  t.is(queues.inboundFor(0), queues.inbound);
  t.is(queues.inboundFor(LARGE), queues.inbound);
  t.is(queues.inboundFor(LARGE + 1), queues.inboundLarge);
  t.is(queues.inboundLarge.name, 'inbound-large');
  t.true(queues.all().includes(queues.inboundLarge), 'large queue is in all() (metrics, Bull Board)');
});

test('over SMTP: the small message is a job of inbound, the large one of inbound-large; both are stored byte for byte', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox();
  const small = mail(box.address, 'small-one', 1000);
  const large = mail(box.address, 'large-one', LARGE * 3);
  const r1 = await RawSmtp.sendOnce(sys.smtpPort, 'a@example.org', [box.address], small);
  const r2 = await RawSmtp.sendOnce(sys.smtpPort, 'a@example.org', [box.address], large);
  const [id1, id2] = [queuedId(r1.data), queuedId(r2.data)];
  t.truthy(id1, r1.data);
  t.truthy(id2, r2.data);
  const messages = await sys.waitForMessages(box.address, box.token, 2);
  // where each job went (completed jobs are kept: QUEUE_KEEP_COMPLETED)
  t.truthy(await Job.fromId(sys.deps.queues.inbound, id1!));
  t.is(await Job.fromId(sys.deps.queues.inboundLarge, id1!), undefined);
  t.truthy(await Job.fromId(sys.deps.queues.inboundLarge, id2!));
  t.is(await Job.fromId(sys.deps.queues.inbound, id2!), undefined);
  for (const [subject, raw] of [
    ['small-one', small],
    ['large-one', large],
  ] as const) {
    const item = messages.find((m: { subject: string }) => m.subject === subject);
    t.truthy(item, subject);
    const res = await sys.api(`/api/v1/mailboxes/${box.address}/messages/${item.id}/raw`, { token: box.token });
    const bytes = Buffer.from(await res.arrayBuffer()).toString('latin1');
    t.true(bytes.endsWith(raw), `${subject}: raw bytes exact`);
  }
});

test('WORKER_LARGE_CONCURRENCY=1: large messages are delivered one at a time while small ones run beside them', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox();
  const large = sys.worker!.inboundLarge;
  let active = 0;
  let most = 0;
  const onActive = () => {
    active++;
    most = Math.max(most, active);
  };
  const onDone = () => {
    active--;
  };
  large.on('active', onActive);
  large.on('completed', onDone);
  large.on('failed', onDone);
  try {
    await Promise.all([
      ...Array.from({ length: 6 }, (_, i) =>
        enqueueInbound(
          sys.deps.queues,
          {
            source: 'smtp',
            envelope: { from: 'a@example.org', to: [box.address] },
            raw: Buffer.from(mail(box.address, `big-${i}`, LARGE * 2)),
          },
          5_000,
        ),
      ),
      ...Array.from({ length: 6 }, (_, i) =>
        enqueueInbound(
          sys.deps.queues,
          {
            source: 'smtp',
            envelope: { from: 'a@example.org', to: [box.address] },
            raw: Buffer.from(mail(box.address, `little-${i}`, 500)),
          },
          5_000,
        ),
      ),
    ]);
    const list = await sys.waitForMessages(box.address, box.token, 12);
    t.is(list.length, 12);
    t.is(most, 1, 'never two large deliveries at once');
    const counts = await sys.deps.queues.inboundLarge.getJobCounts('completed');
    t.true(counts.completed! >= 6);
  } finally {
    large.off('active', onActive);
    large.off('completed', onDone);
    large.off('failed', onDone);
  }
});
