import anyTest, { type TestFn } from 'ava';
import pg from 'pg';
import { quoteIdent } from '../../../src/store/bootstrap.js';
import { createDb } from '../../../src/store/db.js';
import { migrateLatest } from '../../../src/store/migration-source.js';
import { seed } from '../../../src/store/seed.js';
import { flood } from '../../helpers/flood.js';
import { formatLedger, Ledger } from '../../helpers/ledger.js';
import { startPrivatePostgres, type PrivatePostgres } from '../../helpers/private-services.js';
import { startSystem, type System } from '../../helpers/system.js';
import { pause, size, until } from './mode.js';

// A private PostgreSQL (initdb as the postgres user in a temp dir) that the test freezes with SIGSTOP.
const test = anyTest as TestFn<{ pgs: PrivatePostgres; sys: System }>;
test.before(async (t) => {
  const pgs = await startPrivatePostgres();
  const url = new URL(pgs.adminUrl);
  url.pathname = '/mw_faults';
  const admin = new pg.Client({ connectionString: pgs.adminUrl });
  await admin.connect();
  await admin.query(`create database ${quoteIdent('mw_faults')}`);
  await admin.end();
  const db = createDb({ db: { url: url.toString(), poolMax: 2 } });
  await migrateLatest(db);
  await seed(db);
  await db('plans').update({ max_messages_per_mailbox: 100_000 });
  await db.destroy();
  const database = { name: 'mw_faults', url: url.toString(), drop: async () => undefined };
  const sys = await startSystem({
    database,
    env: { DATABASE_QUERY_TIMEOUT_MS: '1000', DATABASE_POOL_MAX: '6', DELIVERY_BACKOFF_MS: '250' },
  });
  t.context = { pgs, sys };
});
test.after.always(async (t) => {
  t.context.pgs?.resume();
  await t.context.sys?.stop();
  await t.context.pgs?.stop();
});

test('Postgres paused (SIGSTOP): SMTP keeps accepting, the API answers 503 instead of hanging, jobs retry and complete, the pool recovers', async (t) => {
  const { sys, pgs } = t.context;
  const box = await sys.createMailbox();
  const list = `/api/v1/mailboxes/${box.address}/messages?limit=1`;
  const ledger = new Ledger(`pg-pause-${Date.now()}`);
  const count = size(150, 1000);
  const pauseMs = size(3_000, 30_000);
  let pausedAt = 0;
  let resumedAt = 0;
  const during: Array<{ status: number; ms: number; path: string }> = [];
  let outage: Promise<void> | undefined;
  const retriedBefore = (await sys.deps.metrics.retried.get()).values.reduce((s, v) => s + v.value, 0);

  const result = await flood({
    port: () => sys.smtpPort,
    to: () => box.address,
    ledger,
    count,
    concurrency: 4,
    onSent: async (n) => {
      if (n !== Math.floor(count / 3)) return;
      pgs.pause();
      pausedAt = Date.now();
      outage = (async () => {
        await Promise.all(
          [list, '/readyz', `/api/v1/mailboxes/${box.address}`].map(async (path) => {
            const started = Date.now();
            const r = await sys.api(path, { token: box.token });
            await r.text();
            during.push({ status: r.status, ms: Date.now() - started, path });
          }),
        );
        await pause(Math.max(0, pauseMs - (Date.now() - pausedAt)));
        pgs.resume();
        resumedAt = Date.now();
      })();
    },
  });
  await outage;
  t.is(result.replies['250'], count, 'SMTP never needs Postgres to answer 250');
  for (const d of during) {
    t.is(d.status, 503, `${d.path} during the pause`);
    t.true(d.ms < 5_000, `${d.path} answered in ${d.ms} ms`);
  }

  const apiBack = await until(
    async () =>
      (await sys.api(list, { token: box.token }).then(async (r) => {
        await r.text();
        return r.status;
      })) === 200,
    30_000,
    'API answers again',
  );
  const drained = await until(
    async () => (await ledger.reconcile(sys.deps.db)).lost.length === 0,
    size(60_000, 180_000),
    'every acknowledged message stored',
    250,
  );
  const report = await ledger.reconcile(sys.deps.db);
  const retried = (await sys.deps.metrics.retried.get()).values.reduce((s, v) => s + v.value, 0) - retriedBefore;
  const counts = await sys.deps.queues.inbound.getJobCounts('failed', 'active', 'waiting', 'delayed');
  t.log(
    formatLedger('postgres SIGSTOP', report, {
      pausedMs: resumedAt - pausedAt,
      apiRecoveryMs: apiBack,
      allStoredAfterResumeMs: drained,
      jobRetries: retried,
      during: JSON.stringify(during),
    }),
  );
  t.deepEqual(report.lost, []);
  t.deepEqual(report.duplicated, []);
  t.true(retried > 0, 'jobs hit the outage and were retried');
  t.is(counts.failed, 0);
});
