import anyTest, { type TestFn } from 'ava';
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { ulid } from 'ulid';
import { createInboundEnqueuer, type Enqueue, type IngressBatchOptions } from '../../src/ingress/enqueue.js';
import { createInboundProcessor } from '../../src/pipeline/processor.js';
import { connectRedis } from '../../src/queue/connection.js';
import { JOB } from '../../src/queue/names.js';
import { messagesOf, type InboundBatchJob, type InboundJob } from '../../src/queue/payloads.js';
import { createQueues, type Queues } from '../../src/queue/producers.js';
import { queuedMessages } from '../helpers/queued.js';
import { RawSmtp } from '../helpers/smtp-client.js';
import { startSystem, type System } from '../helpers/system.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

interface Ctx { sys: System; proxy: TcpProxy; redis: Redis; queues: Queues }
const test = anyTest as TestFn<Ctx>;

// the system's worker delivers; the enqueuers under test talk to the same Redis prefix through a proxy that one
// test holds, so the tests of this file run one at a time
test.before(async (t) => {
  const sys = await startSystem({ roles: ['web', 'smtp', 'worker'] });
  const proxy = await startTcpProxy(Number(new URL(sys.config.redis.url).port || 6379));
  const redis = await connectRedis({ redis: { ...sys.config.redis, url: `redis://127.0.0.1:${proxy.port}` } }, 'producer');
  t.context = { sys, proxy, redis, queues: createQueues(redis, sys.config) };
});
test.after.always(async (t) => {
  await t.context.queues?.close();
  t.context.redis?.disconnect();
  await t.context.proxy?.close();
  await t.context.sys?.stop();
});

const mail = (to: string, subject: string, bodyBytes = 100) =>
  Buffer.from(`From: s@example.org\r\nTo: ${to}\r\nSubject: ${subject}\r\n\r\n${'b'.repeat(bodyBytes)}\r\n`);
const received = (to: string, subject: string, bodyBytes?: number) =>
  ({ source: 'smtp' as const, envelope: { from: 's@example.org', to: [to] }, raw: mail(to, subject, bodyBytes) });

const enqueuer = (t: { context: Ctx }, opts: Partial<IngressBatchOptions>, sizes: number[]): Enqueue =>
  createInboundEnqueuer(t.context.queues, { maxMessages: 32, maxBytes: 1 << 20, maxInFlight: 1, ...opts }, (n) => sizes.push(n));

const subjectsIn = async (sys: System, address: string, token: string, count: number) =>
  (await sys.waitForMessages(address, token, count)).map((m: { subject: string }) => m.subject).sort();

test.serial('messages that arrive while an add is in flight are queued together, each caller answered with its own ingress id, each stored once', async (t) => {
  const { sys, queues } = t.context;
  const box = await sys.createMailbox();
  const sizes: number[] = [];
  const enqueue = enqueuer(t, { maxMessages: 4 }, sizes);
  const subjects = Array.from({ length: 10 }, (_, i) => `grouped-${i}`);
  // the first goes at once (nothing in flight); the nine others wait for it and go four, four and one
  const ids = await Promise.all(subjects.map((s) => enqueue(received(box.address, s), 5_000)));
  t.deepEqual(sizes, [1, 4, 4, 1]);
  t.is(new Set(ids).size, 10);

  const first = await queues.inbound.getJob(ids[0]!);
  t.is(first?.data.v, 1, 'a message alone is a plain job whose id is its ingress id');
  const queued = await queuedMessages(sys);
  for (const [i, id] of ids.entries()) {
    const m = queued.find((q) => q.ingressId === id);
    t.truthy(m, `message ${i} is in a job`);
    t.true(Buffer.from(m!.rawBase64, 'base64').toString('latin1').includes(`Subject: ${subjects[i]}\r\n`), `ingress id ${i} names its own message`);
  }
  t.deepEqual(await subjectsIn(sys, box.address, box.token, 10), [...subjects].sort());
  // a second look after the worker is idle: still ten, no duplicates
  await new Promise((r) => setTimeout(r, 300));
  t.is((await sys.json(`/api/v1/mailboxes/${box.address}/messages`, { token: box.token })).body.length, 10);
});

test.serial('a batch holds at most INGRESS_BATCH_MAX_BYTES of raw messages (a larger message goes alone) and never a message for inbound-large', async (t) => {
  const { sys, queues } = t.context;
  const box = await sys.createMailbox();
  const sizes: number[] = [];
  const one = mail(box.address, 'x').length;
  const enqueue = enqueuer(t, { maxBytes: 3 * one + 50 }, sizes);
  const large = sys.config.worker.largeMessageBytes + 1;
  const ids = await Promise.all([
    ...Array.from({ length: 7 }, (_, i) => enqueue(received(box.address, `b${i}`), 5_000)),
    enqueue(received(box.address, 'big', 4 * one), 5_000), // over maxBytes alone: its own job
    enqueue(received(box.address, 'huge', large), 5_000), // inbound-large: never batched
  ]);
  // 1 at once; then 3, 3 by bytes; then the 4-message-sized one alone (the huge one went its own way)
  t.deepEqual(sizes, [1, 3, 3, 1]);
  const bigJob = await queues.inbound.getJob(ids[7]!);
  t.is(bigJob?.data.v, 1);
  const hugeJob = await queues.inboundLarge.getJob(ids[8]!);
  t.is(hugeJob?.data.v, 1, 'the large message is a plain job of inbound-large');
  t.is((await subjectsIn(sys, box.address, box.token, 9)).length, 9);
});

test.serial('Redis not answering: the sent and the waiting callers get Unavailable in time; a waiting message is never queued after its 451', async (t) => {
  const { sys, proxy } = t.context;
  const box = await sys.createMailbox();
  const sizes: number[] = [];
  const enqueue = enqueuer(t, {}, sizes);
  proxy.hold();
  const started = Date.now();
  // the waiting caller's time runs out first, while the add ahead of it still holds the only slot
  const inFlight = enqueue(received(box.address, 'held-sent'), 800);
  const waiting = enqueue(received(box.address, 'held-waiting'), 300);
  const errors = await Promise.all([inFlight, waiting].map((p) => p.then(() => undefined, (e: Error & { code?: string }) => e)));
  const elapsed = Date.now() - started;
  t.deepEqual(errors.map((e) => e?.name), ['Unavailable', 'Unavailable']);
  t.true(elapsed < 2_000, `answered after ${elapsed} ms`);
  t.deepEqual(sizes, [1], 'only the first message was ever sent');

  // the slot was freed by the callers' timeouts, not by the hung add: a new message goes at once once Redis answers
  proxy.release();
  const after = await enqueue(received(box.address, 'after'), 2_000);
  t.truthy(after);
  await sys.waitForMessages(box.address, box.token, 2); // the held add lands late (as a single add would); 'after' too
  await new Promise((r) => setTimeout(r, 300));
  const all = (await queuedMessages(sys)).map((m) => Buffer.from(m.rawBase64, 'base64').toString('latin1'));
  t.false(all.some((raw) => raw.includes('Subject: held-waiting\r\n')), 'the message answered 451 while waiting was never queued');
  const subjects = await subjectsIn(sys, box.address, box.token, 2);
  t.deepEqual(subjects, ['after', 'held-sent']);
});

test.serial('a batch job processed twice (and three times concurrently) stores each of its messages once', async (t) => {
  const { sys } = t.context;
  const run = createInboundProcessor(sys.deps);
  const box = await sys.createMailbox();
  const messages = ['twice-a', 'twice-b', 'twice-c'].map((s) => ({
    ingressId: ulid(), source: 'smtp' as const, receivedAt: new Date().toISOString(),
    envelope: { from: 's@example.org', to: [box.address] }, rawBase64: mail(box.address, s).toString('base64'), remoteAddress: null,
  }));
  const job = { id: ulid(), data: { v: 2, messages } satisfies InboundBatchJob } as unknown as Job<InboundJob>;
  const first = await run(job);
  t.deepEqual(first.map((o) => 'duplicate' in o && o.duplicate), [false, false, false]);
  const again = (await Promise.all([run(job), run(job), run(job)])).flat();
  t.true(again.every((o) => 'duplicate' in o && o.duplicate), 'every re-run finds every message stored');
  t.deepEqual(await subjectsIn(sys, box.address, box.token, 3), ['twice-a', 'twice-b', 'twice-c']);
  const usage = await sys.deps.db('mailboxes').where({ address: box.address }).first('message_count');
  t.is(Number(usage.message_count), 3, 'charged once per message');
});

test.serial('a message of a batch that cannot be delivered does not hold back the others; the job is retried for it', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox();
  const good = { ingressId: ulid(), source: 'smtp' as const, receivedAt: new Date().toISOString(), envelope: { from: null, to: [box.address] }, rawBase64: mail(box.address, 'good').toString('base64') };
  // a corrupted message (its recipients are not a list): the pipeline throws for it, on every attempt
  const bad = { ...good, ingressId: ulid(), envelope: { from: null, to: 'not-a-list' } };
  const jobId = ulid();
  await sys.deps.queues.inbound.add(JOB.deliver, { v: 2, messages: [good, bad] } as unknown as InboundJob, { jobId, attempts: 2, backoff: { type: 'fixed', delay: 50 } });
  const stored = await subjectsIn(sys, box.address, box.token, 1);
  t.deepEqual(stored, ['good']);
  let job: Job | undefined;
  for (let i = 0; i < 100; i++) {
    job = await sys.deps.queues.inbound.getJob(jobId);
    if (job && (await job.getState()) === 'failed') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  t.is(await job!.getState(), 'failed', 'the job failed after its attempts, kept with both messages');
  t.is(job!.attemptsMade, 2);
  t.deepEqual(messagesOf(job!.data as InboundJob)?.map((m) => m.ingressId), [good.ingressId, bad.ingressId]);
  t.is((await sys.json(`/api/v1/mailboxes/${box.address}/messages`, { token: box.token })).body.length, 1, 'the good message is stored once across attempts');
});

test.serial('SMTP: many connections at once are all accepted and delivered once each, whether batched or not', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox();
  const n = 40;
  const replies = await Promise.all(Array.from({ length: n }, (_, i) =>
    RawSmtp.sendOnce(sys.smtpPort, 'a@example.org', [box.address], mail(box.address, `smtp-${i}`).toString('latin1'))));
  t.true(replies.every((r) => /^250 2\.0\.0 Ok: queued as [0-9A-Z]{26}$/.test(r.data)), replies.map((r) => r.data).join('\n'));
  const ids = replies.map((r) => r.data.split(' ').at(-1)!);
  t.is(new Set(ids).size, n);
  const subjects = await subjectsIn(sys, box.address, box.token, n);
  t.deepEqual(subjects, Array.from({ length: n }, (_, i) => `smtp-${i}`).sort());
  const queued = (await queuedMessages(sys)).filter((m) => m.envelope.to.includes(box.address));
  t.deepEqual(queued.map((m) => m.ingressId).sort(), [...ids].sort(), 'each 250 names the message its job carries');
});
