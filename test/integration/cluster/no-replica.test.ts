import anyTest, { type TestFn } from 'ava';
import { RawSmtp } from '../../helpers/smtp-client.js';
import { slotOf, startRedisCluster, type TestCluster } from '../../helpers/redis-cluster.js';
import { startSystem, TEST_DOMAIN, type System } from '../../helpers/system.js';
import { until } from '../faults/mode.js';

// A master of a 3-master cluster without replicas killed, then started again (memory only: empty, with its slots).
// The web and smtp roles only: what is under test is /readyz and the ingress's answers. (A BullMQ worker whose master
// was restarted under it may not finish Worker.close(): its blocking cluster connection waits for an `end` that does
// not come, so the worker process exits on SHUTDOWN_BUDGET_MS instead; see docs/scaling.md.)
const test = anyTest.serial as TestFn<{ cluster: TestCluster; sys: System }>;

test.before(async (t) => {
  const cluster = await startRedisCluster({ masters: 3 });
  const sys = await startSystem({
    env: { REDIS_URL: cluster.url, INBOUND_SHARDS: '3', ENQUEUE_TIMEOUT_MS: '2000' },
    roles: ['web', 'smtp'],
  }).catch(async (err: unknown) => {
    await cluster.stop();
    throw err;
  });
  t.context = { cluster, sys };
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
  await t.context.cluster?.stop();
});

const sendOne = async (sys: System, to: string, subject: string) => {
  const r = await RawSmtp.sendOnce(
    sys.smtpPort,
    'probe@example.org',
    [to],
    `Subject: ${subject}\r\n\r\n${subject}\r\n`,
  );
  return r.data || r.rcpts.at(-1)!;
};

test("a killed master with no replica: /readyz is 503 and SMTP 451 until it is back, then its queue's mail is queued", async (t) => {
  const { sys, cluster } = t.context;
  const to = `nobody-yet@${TEST_DOMAIN}`; // the ingress does not read Postgres: any address of the domain is queued
  const queue = sys.deps.queues.inboundPlan(100, [to])[0]!.queue;
  const slot = await slotOf(cluster.admin(cluster.nodes[0]!.port), queue.toKey('wait'));
  t.regex(await sendOne(sys, to, 'before'), /^250/);
  t.is((await sys.json('/readyz')).status, 200);
  const master = await cluster.ownerOf(slot);
  await cluster.kill(master);
  const r = await sys.json('/readyz');
  t.is(r.status, 503);
  t.regex(r.body.checks.redis, /^failed: /);
  t.log(`master ${master.port} of ${queue.name} killed: ${r.body.checks.redis}`);
  // nothing can take its slots over: its queues fail (and the whole cluster answers CLUSTERDOWN once the others
  // agree that it failed), so mail for them is not acknowledged
  t.regex(await sendOne(sys, to, 'while down'), /^4\d\d/);
  await cluster.restart(master);
  await until(async () => (await sys.json('/readyz')).status === 200, 30_000, 'ready once the master is back');
  t.regex(await sendOne(sys, to, 'after'), /^250/);
  // the restarted master came back empty (memory only): the job queued after it is the only one in the queue
  t.is(await queue.count(), 1);
});
