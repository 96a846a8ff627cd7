import anyTest, { type TestFn } from 'ava';
import { startSystem, TEST_DOMAIN, type System } from '../helpers/system.js';

const test = anyTest as TestFn<{ sys: System }>;
test.before(async (t) => {
  t.context.sys = await startSystem();
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

test('a mailbox created over HTTP receives mail sent over SMTP', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox('?ttl_minutes=5');
  t.true(box.address.endsWith(`@${TEST_DOMAIN}`));
  const info = await sys.send({ to: box.address, subject: 'smoke', text: 'hello' });
  t.regex(info.response, /^250 2\.0\.0 Ok: queued as [0-9A-Z]{26}$/);
  const list = await sys.waitForMessages(box.address, box.token, 1);
  t.is(list[0].subject, 'smoke');
});

test('by default (QUEUE_KEEP_COMPLETED=0) a delivered job leaves Redis once its message is stored', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox();
  const info = await sys.send({ to: box.address, subject: 'gone', text: 'hello' });
  const id = /queued as ([0-9A-Z]{26})$/.exec(info.response)![1]!;
  await sys.waitForMessages(box.address, box.token, 1);
  // the row is committed before BullMQ completes the job: allow that step to finish
  const until = Date.now() + 5_000;
  while ((await sys.deps.queues.inbound.getJob(id)) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  t.is(await sys.deps.queues.inbound.getJob(id), undefined);
  t.is((await sys.deps.queues.inbound.getJobCounts('completed')).completed, 0);
});
