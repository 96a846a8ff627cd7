import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import { flood } from '../../helpers/flood.js';
import { formatLedger, Ledger } from '../../helpers/ledger.js';
import { slotOf, startRedisCluster, type TestCluster } from '../../helpers/redis-cluster.js';
import { RawSmtp } from '../../helpers/smtp-client.js';
import { startSystem, type System } from '../../helpers/system.js';
import { pause, size, until } from '../faults/mode.js';

// A private 3-master Redis Cluster with one replica per master; the inbound queue in 3 shards. The ledger method of
// the fault suite (test/integration/faults/): every 250 stored exactly once, whatever the cluster does meanwhile.
// `npm run test:cluster` runs the full sizes (FAULTS=full); `npm test` the reduced ones.
const test = anyTest.serial as TestFn<{ cluster: TestCluster; sys: System }>;

test.before(async (t) => {
  const cluster = await startRedisCluster({ masters: 3, replicas: 1 });
  const sys = await startSystem({
    env: { REDIS_URL: cluster.url, INBOUND_SHARDS: '3', ENQUEUE_TIMEOUT_MS: '2000', WORKER_LOCK_MS: '3000' },
  }).catch(async (err: unknown) => {
    await cluster.stop();
    throw err;
  });
  await sys.deps.db('plans').update({ max_messages_per_mailbox: 100_000 });
  t.context = { cluster, sys };
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
  await t.context.cluster?.stop();
});

/** Mailboxes, and the slot of the inbound shard the first one goes to (every key of that queue lives there). */
async function setUp(sys: System, cluster: TestCluster, n = 6) {
  const boxes = await Promise.all(Array.from({ length: n }, () => sys.createMailbox()));
  const queue = sys.deps.queues.inboundPlan(100, [boxes[0]!.address])[0]!.queue;
  const slot = await slotOf(cluster.admin(cluster.nodes[0]!.port), queue.toKey('wait'));
  let i = 0;
  return { boxes, queue, slot, to: () => boxes[i++ % boxes.length]!.address };
}

async function settle(t: ExecutionContext, sys: System, ledger: Ledger, name: string, extra: object) {
  await until(async () => (await ledger.reconcile(sys.deps.db)).lost.length === 0, 60_000, 'every 250 stored');
  const report = await ledger.reconcile(sys.deps.db);
  t.log(formatLedger(name, report, extra as Record<string, unknown>));
  t.deepEqual(report.lost, []);
  t.deepEqual(report.duplicated, []);
  return report;
}

test("a live migration of an inbound shard's slot during an SMTP flow: every 250 stored exactly once", async (t) => {
  const { sys, cluster } = t.context;
  const { queue, slot, to } = await setUp(sys, cluster);
  const ledger = new Ledger(`cluster-migrate-${Date.now()}`);
  const count = size(90, 250);
  const from = await cluster.ownerOf(slot);
  const target = (await cluster.masters()).find((m) => m !== from)!;
  // the shard's worker pauses for the first part of the flow: its jobs pile up in the slot, so the migration moves
  // job hashes while producers keep adding (ASK) and, once resumed, the worker takes them from both nodes
  const worker = sys.worker!.inboundShards.find((w) => w.name === queue.name)!;
  await worker.pause(true);
  let migration: Promise<number> | undefined;
  const result = await flood({
    port: () => sys.smtpPort,
    to,
    ledger,
    count,
    concurrency: 6,
    onSent: async (n) => {
      if (n === Math.floor(count / 2)) migration = cluster.migrateSlot(slot, target, { batch: 3, pauseMs: 25 });
      if (n === Math.floor((count * 3) / 4)) void worker.resume();
      if (migration) await pause(5);
    },
  });
  void worker.resume();
  const moved = await migration!;
  t.is(await cluster.ownerOf(slot), target, `slot ${slot} of ${queue.name} moved`);
  const report = await settle(t, sys, ledger, `slot ${slot} (${queue.name}) migrated`, {
    keysMoved: moved,
    replies: JSON.stringify(result.replies),
  });
  t.true(report.acked >= count / 2, `most messages accepted (${JSON.stringify(result.replies)})`);
  t.is((await sys.json('/readyz')).status, 200);
});

test('a master failover (CLUSTER FAILOVER on its replica) during an SMTP flow: every 250 stored exactly once', async (t) => {
  const { sys, cluster } = t.context;
  const { queue, slot, to } = await setUp(sys, cluster);
  const ledger = new Ledger(`cluster-failover-${Date.now()}`);
  const count = size(90, 250);
  let failover: Promise<unknown> | undefined;
  const result = await flood({
    port: () => sys.smtpPort,
    to,
    ledger,
    count,
    concurrency: 6,
    onSent: async (n) => {
      if (n === Math.floor(count / 3)) failover = cluster.failover(slot);
      if (failover) await pause(5);
    },
  });
  const { from, to: promoted } = (await failover) as { from: { port: number }; to: { port: number } };
  const report = await settle(t, sys, ledger, `failover of ${queue.name}'s master`, {
    from: from.port,
    to: promoted.port,
    replies: JSON.stringify(result.replies),
  });
  t.true(report.acked >= count / 2, `most messages accepted (${JSON.stringify(result.replies)})`);
  await until(async () => (await sys.json('/readyz')).status === 200, 10_000, 'ready after the failover');
});

test("/readyz is 503 while a queue's slot is half migrated (TRYAGAIN for its keys), 200 once the move completes", async (t) => {
  const { sys, cluster } = t.context;
  const { boxes, queue, slot } = await setUp(sys, cluster, 1);
  await sys.send({ to: boxes[0]!.address, subject: 'seed', text: 'x' }); // the queue's `id` and `meta` keys exist
  t.is((await sys.json('/readyz')).status, 200);
  const from = await cluster.ownerOf(slot);
  const dest = (await cluster.masters()).find((m) => m !== from)!;
  const src = cluster.admin(from.port);
  await cluster.admin(dest.port).call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', from.id);
  await src.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', dest.id);
  // move one of the queue's keys only: a command on two of its keys cannot run on either node now
  await src.call('MIGRATE', '127.0.0.1', dest.port, queue.toKey('id'), 0, 5000);
  const r = await sys.json('/readyz');
  t.is(r.status, 503);
  t.regex(r.body.checks.redis, new RegExp(`^failed: ${queue.name}: .*(TRYAGAIN|ASK|MOVED|redirections)`));
  t.is(r.body.checks.postgres, 'ok');
  const moved = await cluster.migrateSlot(slot, dest).catch(async () => {
    // migrateSlot starts with SETSLOT IMPORTING/MIGRATING, already done: finish by hand
    for (;;) {
      const keys = (await src.call('CLUSTER', 'GETKEYSINSLOT', slot, 100)) as string[];
      if (!keys.length) break;
      await src.call('MIGRATE', '127.0.0.1', dest.port, '', 0, 5000, 'REPLACE', 'KEYS', ...keys);
    }
    for (const m of await cluster.masters())
      await cluster.admin(m.port).call('CLUSTER', 'SETSLOT', slot, 'NODE', dest.id);
    return -1;
  });
  t.log(`slot ${slot} completed (${moved})`);
  await until(async () => (await sys.json('/readyz')).status === 200, 10_000, 'ready once the slot moved');
  t.pass();
});

/** One message over SMTP to `to`; the reply to DATA (or to RCPT when refused there). */
async function sendOne(sys: System, to: string, subject: string): Promise<string> {
  const r = await RawSmtp.sendOnce(
    sys.smtpPort,
    'probe@example.org',
    [to],
    `Subject: ${subject}\r\n\r\n${subject}\r\n`,
  );
  return r.data || r.rcpts.at(-1)!;
}

test('/readyz is 503 in a MOVED storm (a slot each of two masters says the other owns), 200 once it is settled', async (t) => {
  const { sys, cluster } = t.context;
  const { boxes, queue, slot } = await setUp(sys, cluster, 1);
  const box = boxes[0]!;
  t.regex(await sendOne(sys, box.address, 'before'), /^250/);
  t.is((await sys.json('/readyz')).status, 200);
  const from = await cluster.ownerOf(slot);
  const dest = (await cluster.masters()).find((m) => m !== from)!;
  const split = await cluster.splitSlot(slot, dest);
  // every command on the queue's keys is sent back and forth between the two until the client gives up
  const r = await sys.json('/readyz');
  t.is(r.status, 503);
  t.regex(r.body.checks.redis, new RegExp(`^failed: (${queue.name}: .*(MOVED|redirections)|no answer)`));
  t.is(r.body.checks.postgres, 'ok');
  t.log(`slot ${slot} split between ${split.from.port} and ${dest.port}: ${r.body.checks.redis}`);
  // the ingress does not acknowledge what it could not queue
  t.regex(await sendOne(sys, box.address, 'during'), /^4\d\d/);
  t.is((await sys.json('/readyz')).status, 503, 'still not ready: the storm does not settle by itself');
  await split.finish();
  await until(async () => (await sys.json('/readyz')).status === 200, 10_000, 'ready once the target owns the slot');
  t.regex(await sendOne(sys, box.address, 'after'), /^250/);
  const stored = await sys.waitForMessages(box.address, box.token, 2);
  t.deepEqual(stored.map((m: { subject: string }) => m.subject).sort(), ['after', 'before']);
});
