import anyTest, { type TestFn } from 'ava';
import { flood } from '../../helpers/flood.js';
import { formatLedger, Ledger } from '../../helpers/ledger.js';
import { startPrivateRedis, type PrivateRedis } from '../../helpers/private-services.js';
import { startSystem, type System } from '../../helpers/system.js';
import { pause, size, until } from './mode.js';

// A private redis-server (AOF, appendfsync always) that the test kills and restarts; Postgres is the shared one.
const test = anyTest as TestFn<{ redis: PrivateRedis; sys: System }>;
test.before(async (t) => {
  const redis = await startPrivateRedis();
  const sys = await startSystem({ env: { REDIS_URL: redis.url, ENQUEUE_TIMEOUT_MS: '1000', WORKER_LOCK_MS: '3000' } });
  await sys.deps.db('plans').update({ max_messages_per_mailbox: 100_000 });
  t.context = { redis, sys };
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
  await t.context.redis?.stop();
});

test.serial(
  'Redis (AOF, appendfsync always) SIGKILLed and restarted during an SMTP flood: every 250 is stored, 451 while down',
  async (t) => {
    const { sys, redis } = t.context;
    const box = await sys.createMailbox();
    const ledger = new Ledger(`redis-kill-${Date.now()}`);
    const count = size(240, 2000);
    const downMs = size(1500, 5000);
    let killedAt = 0;
    let restartedAt = 0;
    let restart: Promise<void> | undefined;
    const result = await flood({
      port: () => sys.smtpPort,
      to: () => box.address,
      ledger,
      count,
      concurrency: 6,
      onSent: async (n) => {
        if (n === Math.floor(count / 3)) {
          await redis.kill('SIGKILL');
          killedAt = Date.now();
          restart = pause(downMs)
            .then(() => redis.start())
            .then(() => {
              restartedAt = Date.now();
            });
        }
        if (killedAt && !restartedAt) await pause(40); // keep sending, slowly, while Redis is down
      },
    });
    await restart;
    t.true(killedAt > 0 && restartedAt > 0);
    t.true((result.replies['451'] ?? 0) > 0, `451 while Redis was down (replies: ${JSON.stringify(result.replies)})`);
    t.is(
      result.ackTimes.filter((at) => at > killedAt + 250 && at < restartedAt).length,
      0,
      'no 250 while Redis is down',
    );
    const firstAckAfter = result.ackTimes.filter((at) => at >= restartedAt).sort((a, b) => a - b)[0];
    t.truthy(firstAckAfter, 'SMTP accepts again after Redis is back');

    const drained = await until(
      async () => (await ledger.reconcile(sys.deps.db)).lost.length === 0,
      60_000,
      'every acknowledged message stored',
    );
    const report = await ledger.reconcile(sys.deps.db);
    t.log(
      formatLedger('redis SIGKILL+restart', report, {
        replies: JSON.stringify(result.replies),
        downMs: restartedAt - killedAt,
        smtpRecoveryMs: firstAckAfter! - restartedAt,
        drainMs: drained,
      }),
    );
    t.deepEqual(report.lost, []);
    t.deepEqual(report.duplicated, []);
    t.true(report.acked > count / 2);
  },
);

test.serial('Redis pub/sub cut (PUBLISH denied): messages are still stored, failures are counted', async (t) => {
  const { sys, redis } = t.context;
  const box = await sys.createMailbox();
  const ledger = new Ledger(`pubsub-cut-${Date.now()}`);
  await redis.cli('ACL', 'SETUSER', 'default', '-publish');
  try {
    const before = (await sys.deps.metrics.publishFailures.get()).values[0]?.value ?? 0;
    const count = size(40, 400);
    const result = await flood({ port: () => sys.smtpPort, to: () => box.address, ledger, count, concurrency: 4 });
    t.is(result.replies['250'], count);
    await until(async () => (await ledger.reconcile(sys.deps.db)).stored === count, 30_000, 'all stored');
    const report = await ledger.reconcile(sys.deps.db);
    const failures = ((await sys.deps.metrics.publishFailures.get()).values[0]?.value ?? 0) - before;
    t.log(formatLedger('pub/sub cut', report, { publishFailures: failures }));
    t.deepEqual(report.lost, []);
    t.deepEqual(report.duplicated, []);
    t.is(failures, count, 'every lost publish is counted (readers recover from Postgres by cursor)');
    t.is((await sys.deps.queues.inbound.getJobCounts('failed')).failed, 0);
  } finally {
    await redis.cli('ACL', 'SETUSER', 'default', '+publish');
  }
});
