import anyTest, { type TestFn } from 'ava';
import type { Knex } from 'knex';
import { MAINTENANCE_JOB } from '../../src/queue/maintenance-jobs.js';
import { createDb } from '../../src/store/db.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { eventually } from '../helpers/events.js';
import { startSystem, type System } from '../helpers/system.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

// The worker reaches Postgres through a proxy the test can break; the test itself connects directly.
const test = anyTest.serial as TestFn<{ database: TestDatabase; direct: Knex; proxy: TcpProxy; sys: System }>;
test.before(async (t) => {
  const database = await createTestDatabase();
  const proxy = await startTcpProxy(Number(new URL(database.url).port || 5432));
  const proxied = new URL(database.url);
  proxied.port = String(proxy.port);
  const sys = await startSystem({
    roles: ['worker'],
    database: { ...database, url: proxied.toString() },
    env: { SWEEP_INTERVAL_MS: '200', PURGE_INTERVAL_MS: '3600000' },
  });
  t.context = { database, direct: createDb({ db: { url: database.url, poolMax: 2 } }), proxy, sys };
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
  await t.context.direct?.destroy();
  await t.context.proxy?.close();
  await t.context.database?.drop();
});

const overdue = async (db: Knex, address: string) =>
  (
    await db('mailboxes')
      .insert({ address, plan_id: 'anonymous', expires_at: db.raw(`now() - interval '1 second'`) })
      .returning('id')
  )[0].id as string;
const swept = (db: Knex, id: string) => async () =>
  (await db('mailboxes').where({ id }).first()).is_active ? undefined : true;

test('the sweep runs on its schedule, survives a database outage, and resumes afterwards', async (t) => {
  const { direct, proxy, sys } = t.context;
  t.true(
    await eventually(swept(direct, await overdue(direct, 'first@x.test')), 10_000),
    'swept while the database is up',
  );

  const failures: string[] = [];
  sys.worker!.maintenance!.worker.on('failed', (job) => {
    if (job?.name === MAINTENANCE_JOB.sweepExpired) failures.push(String(job.id));
  });
  proxy.break();
  await eventually(async () => (failures.length >= 2 ? true : undefined), 15_000);
  const id = await overdue(direct, 'second@x.test');
  t.true((await direct('mailboxes').where({ id }).first()).is_active, 'not swept during the outage');

  await proxy.restore();
  t.true(await eventually(swept(direct, id), 15_000), 'the schedule is still alive after the outage');
  t.is((await sys.deps.queues.maintenance.getJobSchedulers()).length, 2);
});
