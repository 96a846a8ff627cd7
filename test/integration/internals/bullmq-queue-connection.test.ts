import test from 'ava';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../../helpers/redis.js';

// docs/internals.md, row "BullMQ Queue commands on the given connection": after an add that Redis did
// not acknowledge in time, enqueueInbound (src/ingress/enqueue.ts withdrawLate) sends a remove at once and
// relies on it running after the add: it does because a Queue sends both on the ioredis instance it was given
// (src/queue/producers.ts), not on a connection of its own, and one connection keeps command order. BullMQ
// documents reusing a connection, not which commands use it.
const ROW = 'internals.md row "BullMQ Queue commands on the given connection" (src/ingress/enqueue.ts withdrawLate)';

test('Queue.add and Queue.remove are sent on the ioredis instance passed as connection', async (t) => {
  const prefix = uniquePrefix();
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue('internals', { connection: redis, prefix });
  t.teardown(async () => {
    await queue.close();
    redis.disconnect();
    await dropPrefix(prefix);
  });
  await queue.waitUntilReady();

  const sent: string[] = [];
  let phase = 'add';
  const jobId = `probe-${prefix}`;
  const original = redis.sendCommand.bind(redis);
  redis.sendCommand = (command: Parameters<typeof original>[0], stream?: Parameters<typeof original>[1]) => {
    if (command.args.some((a) => String(a).includes(jobId))) sent.push(phase);
    return original(command, stream);
  };

  const added = await queue.add('probe', { n: 1 }, { jobId });
  t.is(added.id, jobId);
  phase = 'remove';
  t.is(await queue.remove(jobId), 1, ROW);
  t.is(await queue.getJobState(jobId), 'unknown');
  t.true(sent.includes('add'), `${ROW}: Queue.add did not send its command on the given connection`);
  t.true(sent.includes('remove'), `${ROW}: Queue.remove did not send its command on the given connection`);
});
