import anyTest, { type TestFn } from 'ava';
import { eventTypes, outboundEnv, postSend, senderMailbox, waitForStatus } from '../helpers/outbound.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { startSystem, type System } from '../helpers/system.js';

const test = anyTest as TestFn<{ sys: System; sink: SmtpSink; key: string; address: string }>;

test.before(async (t) => {
  const sink = await startSmtpSink();
  const sys = await startSystem({
    roles: ['web', 'worker'],
    env: outboundEnv(sink.url, { OUTBOUND_SWEEP_EVERY_MS: '300' }),
  });
  const { tenant, address } = await senderMailbox(sys);
  t.context = { sys, sink, key: tenant.apiKey, address };
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
  await t.context.sink?.stop();
});

test.serial('Redis refuses the jobs: the 202 stands, and the sweeper adds them once Redis answers', async (t) => {
  const { sys, sink, key, address } = t.context;
  const queue = sys.deps.queues.outbound;
  const addBulk = queue.addBulk.bind(queue);
  queue.addBulk = () => Promise.reject(new Error('Redis refused (test)'));
  let r;
  try {
    r = await postSend(sys, address, key, { to: ['s1@example.org', 's2@example.org'], subject: 's', text: 't' });
  } finally {
    queue.addBulk = addBulk;
  }
  t.is(r.status, 202);
  // checked for every message before waiting for any: once the first is sent the sweeper has run, and it re-adds
  // the others' jobs too (checking inside the loop below failed in CI for the second message)
  const jobs = await Promise.all(r.body.messages.map((m: { id: string }) => queue.getJob(m.id)));
  t.deepEqual(jobs, [undefined, undefined], 'no job was added');
  for (const m of r.body.messages) {
    const row = await waitForStatus(sys, m.id, ['sent', 'failed'], 20_000);
    t.is(row.status, 'sent');
    t.is(row.attempts, 1);
    t.deepEqual(await eventTypes(sys, m.id), ['queued', 'sending', 'sent']);
  }
  t.is(sink.messages.filter((m) => m.messageId === r.body.message_id).length, 2, 'each sent once');
});

test.serial('a job lost from Redis: the sweeper re-adds it; a job that exists is not added twice', async (t) => {
  const { sys, sink, key, address } = t.context;
  const worker = sys.worker!.outbound!.worker;
  await worker.pause();
  let r;
  try {
    r = await postSend(sys, address, key, { to: 'lost@example.org', subject: 'lost', text: 't' });
    t.is(r.status, 202);
    const id = r.body.messages[0].id;
    t.truthy(await sys.deps.queues.outbound.getJob(id));
    await sys.deps.queues.outbound.remove(id);
  } finally {
    await worker.resume();
  }
  const row = await waitForStatus(sys, r.body.messages[0].id, ['sent', 'failed'], 20_000);
  t.is(row.status, 'sent');
  t.is(sink.messages.filter((m) => m.messageId === r.body.message_id).length, 1);
});
