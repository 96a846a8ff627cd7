import anyTest, { type TestFn } from 'ava';
import { RawSmtp } from '../../helpers/smtp-client.js';
import { slotOf, startRedisCluster, type TestCluster } from '../../helpers/redis-cluster.js';
import { startSystem, TEST_DOMAIN, type System } from '../../helpers/system.js';
import { until } from '../faults/mode.js';

// Masters of a private 3-master cluster (one replica each) killed with SIGKILL: first one whose replica takes over,
// then that replica (now a master with no replica left), started again afterwards (memory only: empty, with its
// slots). What is under test is /readyz and the ingress's answers (the queue counts show what was queued), so the web
// and smtp roles only; a worker under killed masters: killed-master-worker.test.ts.
const test = anyTest.serial as TestFn<{ cluster: TestCluster; sys: System }>;

test.before(async (t) => {
  const cluster = await startRedisCluster({ masters: 3, replicas: 1 });
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

const to = `nobody-yet@${TEST_DOMAIN}`; // the ingress does not read Postgres: any address of the domain is queued

const sendOne = async (sys: System, subject: string) => {
  const r = await RawSmtp.sendOnce(
    sys.smtpPort,
    'probe@example.org',
    [to],
    `Subject: ${subject}\r\n\r\n${subject}\r\n`,
  );
  return r.data || r.rcpts.at(-1)!;
};

async function queueOf({ sys, cluster }: { sys: System; cluster: TestCluster }) {
  const queue = sys.deps.queues.inboundPlan(100, [to])[0]!.queue;
  const slot = await slotOf(cluster.admin(cluster.nodes.find((n) => n.up)!.port), queue.toKey('wait'));
  return { queue, slot };
}

test('a killed master: /readyz is 503 until its replica is elected, then 200, and its queue takes mail again', async (t) => {
  const { sys, cluster } = t.context;
  const { queue, slot } = await queueOf(t.context);
  t.regex(await sendOne(sys, 'before'), /^250/);
  t.is((await sys.json('/readyz')).status, 200);
  const master = await cluster.ownerOf(slot);
  const replica = await cluster.replicaOf(master);
  const offset = async (port: number, field: string) =>
    Number(new RegExp(`${field}:(\\d+)`).exec(await cluster.admin(port).info('replication'))?.[1] ?? -1);
  const written = await offset(master.port, 'master_repl_offset');
  await until(async () => (await offset(replica.port, 'slave_repl_offset')) >= written, 10_000, 'the replica in sync');
  await cluster.kill(master);
  // the replica waits for the node timeout (2 s) before it is elected: no queue of that master can be used meanwhile
  const r = await sys.json('/readyz');
  t.is(r.status, 503);
  t.regex(r.body.checks.redis, /^failed: /);
  t.log(`master ${master.port} of ${queue.name} killed: ${r.body.checks.redis}`);
  await until(
    async () => (await cluster.ownerOf(slot).catch(() => undefined)) === replica,
    30_000,
    `replica ${replica.port} elected`,
  );
  await until(async () => (await sys.json('/readyz')).status === 200, 20_000, 'ready once the replica took over');
  t.regex(await sendOne(sys, 'after the failover'), /^250/);
  // the replica had the job queued before the kill (it was in sync), and takes the new one
  t.is(await queue.count(), 2);
});

test("a killed master with no replica: /readyz is 503 and SMTP 451 until it is back, then its queue's mail is queued", async (t) => {
  const { sys, cluster } = t.context;
  const { queue, slot } = await queueOf(t.context);
  const master = await cluster.ownerOf(slot); // the replica elected above: its own replica is the node killed there
  t.is((await sys.json('/readyz')).status, 200);
  await cluster.kill(master);
  const r = await sys.json('/readyz');
  t.is(r.status, 503);
  t.regex(r.body.checks.redis, /^failed: /);
  t.log(`master ${master.port} of ${queue.name} killed: ${r.body.checks.redis}`);
  // nothing can take its slots over: its queues fail (and the whole cluster answers CLUSTERDOWN once the others
  // agree that it failed), so mail for them is not acknowledged
  t.regex(await sendOne(sys, 'while down'), /^4\d\d/);
  await cluster.restart(master);
  await until(async () => (await sys.json('/readyz')).status === 200, 30_000, 'ready once the master is back');
  t.regex(await sendOne(sys, 'after'), /^250/);
  // it came back empty (memory only): the job queued after it is the only one in the queue
  t.is(await queue.count(), 1);
});
