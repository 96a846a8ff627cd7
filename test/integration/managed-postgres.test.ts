import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import anyTest, { type TestFn } from 'ava';
import pg from 'pg';
import { loadConfig } from '../../src/core/config.js';
import { release, RELEASE_LOCK_KEY } from '../../src/ops/release.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { startSystem } from '../helpers/system.js';

/**
 * A managed Postgres in front of the shared one, as `release` and the roles meet it: a loopback proxy that reads
 * each connection's startup message and refuses any database but the allowed one the way providers and PgBouncer
 * do (`FATAL 08P01 no such database`, PgBouncer; `28000 no pg_hba.conf entry`, a provider that lets a user into
 * its own database only). It also counts connections, so a query cancelled from another connection shows.
 */
async function managedPostgres(allowed: string, refusal: { code: string; message: string }) {
  const counts = { total: 0, refused: [] as string[] };
  const server: Server = createServer((client) => {
    counts.total++;
    client.once('data', (first: Buffer) => {
      // StartupMessage: int32 length, int32 protocol 3.0 (196608), then key\0value\0 … \0 (no TLS on loopback)
      const fields = first.subarray(8).toString('utf8').split('\0');
      const params = new Map<string, string>();
      for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i]) params.set(fields[i]!, fields[i + 1]!);
      const database = params.get('database') ?? params.get('user') ?? '';
      if (database !== allowed) {
        counts.refused.push(database);
        const body = Buffer.from(`SFATAL\0C${refusal.code}\0M${refusal.message.replace('%s', database)}\0\0`);
        const head = Buffer.alloc(5);
        head.write('E');
        head.writeInt32BE(body.length + 4, 1);
        client.end(Buffer.concat([head, body]));
        return;
      }
      const upstream = connect(5432, '127.0.0.1');
      upstream.write(first);
      client.pipe(upstream).pipe(client);
      const close = () => {
        client.destroy();
        upstream.destroy();
      };
      for (const s of [client, upstream]) {
        s.on('close', close);
        s.on('error', close);
      }
    });
    client.on('error', () => undefined);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    counts,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const test = anyTest.serial as TestFn<{ database: TestDatabase }>;
test.before(async (t) => {
  t.context.database = await createTestDatabase();
});
test.after.always(async (t) => {
  await t.context.database?.drop();
});

const through = (url: string, port: number) => {
  const u = new URL(url);
  u.port = String(port);
  return u.toString();
};

for (const refusal of [
  { name: 'PgBouncer', code: '08P01', message: 'no such database: %s' },
  { name: 'a provider', code: '28000', message: 'no pg_hba.conf entry for database "%s"' },
]) {
  test(`release against an existing database never asks the postgres database (${refusal.name} refuses it)`, async (t) => {
    const { database } = t.context;
    const proxy = await managedPostgres(database.name, refusal);
    try {
      const result = await release(loadConfig({ DATABASE_URL: through(database.url, proxy.port), NODE_ENV: 'test' }));
      t.false(result.created);
      t.deepEqual(result.applied, [], 'already migrated');
      t.deepEqual(proxy.counts.refused, [], 'no connection to another database');
    } finally {
      await proxy.close();
    }
  });
}

test('release takes its lock in a transaction (pg_advisory_xact_lock): nothing outlives it on a pooled server connection', async (t) => {
  const { database } = t.context;
  const holder = new pg.Client({ connectionString: database.url });
  await holder.connect();
  try {
    await holder.query('select pg_advisory_lock($1)', [RELEASE_LOCK_KEY]);
    const running = release(loadConfig({ DATABASE_URL: database.url, NODE_ENV: 'test' }));
    const waiter = async () =>
      (
        await holder.query<{ query: string; in_xact: boolean }>(
          `select query, xact_start is not null as in_xact from pg_stat_activity
           where datname = current_database() and wait_event_type = 'Lock' and pid <> pg_backend_pid()`,
        )
      ).rows[0];
    let w = await waiter();
    for (let i = 0; !w && i < 100; i++) {
      await new Promise((r) => setTimeout(r, 50));
      w = await waiter();
    }
    t.truthy(w, 'release waits for the lock');
    t.regex(w!.query, /pg_advisory_xact_lock/);
    t.true(w!.in_xact);
    await holder.query('select pg_advisory_unlock($1)', [RELEASE_LOCK_KEY]);
    await running;
    const left = await holder.query(
      `select count(*)::int as n from pg_locks where locktype = 'advisory' and objid = $1 and database =
       (select oid from pg_database where datname = current_database())`,
      [RELEASE_LOCK_KEY],
    );
    t.is(left.rows[0].n, 0, 'no advisory lock left behind');
  } finally {
    await holder.end();
  }
});

test('an expensive regex wait is stopped by statement_timeout on its own connection, never cancelled from another', async (t) => {
  const database = await createTestDatabase();
  const proxy = await managedPostgres(database.name, { code: '08P01', message: 'no such database: %s' });
  const sys = await startSystem({
    database: { ...database, url: through(database.url, proxy.port) },
    env: { WAIT_MAX_SECONDS: '30', WAIT_REGEX_TIMEOUT_MS: '300' },
  });
  try {
    const box = await sys.createMailbox('?ttl_minutes=30');
    const subject = `${'a'.repeat(401)}b`; // back-references make Postgres's matcher search for seconds
    await sys.send({ to: box.address, subject, text: 'x' });
    await sys.waitForMessages(box.address, box.token, 1);
    // warm the pool with a cheap regex wait, so that the expensive one needs no new pooled connection
    const cheap = await sys.json(
      `/api/v1/mailboxes/${box.address}/messages?wait=1&subject=${encodeURIComponent('/^a+b$/')}`,
      {
        token: box.token,
      },
    );
    t.is(cheap.status, 200);
    const before = proxy.counts.total;
    const re = '/^(a*)(a*)(a*)\\1\\2\\3b$/';
    const r = await sys.json(`/api/v1/mailboxes/${box.address}/messages?wait=20&subject=${encodeURIComponent(re)}`, {
      token: box.token,
    });
    t.is(r.status, 400);
    t.is(r.body.error.code, 'regex_too_expensive');
    t.is(proxy.counts.total, before, 'no connection opened to cancel the query by pid');
    const running = await sys.deps.db.raw(
      `select count(*)::int as n from pg_stat_activity where datname = current_database() and state = 'active' and query like '%~*%' and pid <> pg_backend_pid()`,
    );
    t.is(running.rows[0].n, 0, 'the query stopped in Postgres');
  } finally {
    await sys.stop();
    await proxy.close();
    await database.drop();
  }
});
