import anyTest, { type TestFn } from 'ava';
import { loadConfig } from '../../src/core/config.js';
import { release } from '../../src/ops/release.js';
import { createDb } from '../../src/store/db.js';
import { startSystem } from '../helpers/system.js';
import { startTlsPostgres, type TlsPostgres } from '../helpers/tls-postgres.js';

// A managed PostgreSQL that takes TLS connections only (pg_hba hostssl), with a certificate from its own CA:
// DATABASE_URL's sslmode/sslrootcert and PGSSLMODE, with the pg driver in package.json, for `release` (database
// bootstrap, advisory lock, migrations) and for the roles.
const test = anyTest as TestFn<{ pg: TlsPostgres }>;
test.before(async (t) => {
  t.context.pg = await startTlsPostgres();
});
test.after.always(async (t) => {
  await t.context.pg?.stop();
});

const urlOf = (t: { context: { pg: TlsPostgres } }, database: string, query = '') =>
  `postgres://postgres@127.0.0.1:${t.context.pg.port}/${database}${query}`;

/**
 * Connect as the app does (createDb: knex and pg with config.db.url as the connection string) and say whether the
 * session is encrypted. A refused connection fails at once (no pool retrying until its acquire timeout).
 */
async function sessionUsesTls(env: Record<string, string>): Promise<boolean> {
  const quiet = () => undefined;
  const db = createDb(loadConfig(env), {
    pool: { min: 0, max: 1, acquireTimeoutMillis: 10_000, propagateCreateError: true },
    log: { warn: quiet, error: quiet, debug: quiet, deprecate: quiet },
  });
  try {
    const r = await db.raw<{ rows: { ssl: boolean }[] }>('select ssl from pg_stat_ssl where pid = pg_backend_pid()');
    return r.rows[0]!.ssl;
  } finally {
    await db.destroy();
  }
}

test('sslmode=verify-full with sslrootcert: release creates and migrates the database over TLS, and a full system delivers', async (t) => {
  const url = urlOf(
    t,
    'mw_tls_full',
    `?sslmode=verify-full&sslrootcert=${encodeURIComponent(t.context.pg.certs.caFile)}`,
  );
  const migrated = await release(loadConfig({ DATABASE_URL: url }));
  t.true(migrated.created);
  t.true(migrated.applied.length > 0);
  t.true(await sessionUsesTls({ DATABASE_URL: url }));
  const sys = await startSystem({ database: { name: 'mw_tls_full', url, drop: async () => undefined } });
  try {
    const box = await sys.createMailbox('?ttl_minutes=30');
    await sys.send({ to: box.address, subject: 'stored over tls', text: 'x' });
    const [message] = await sys.waitForMessages(box.address, box.token, 1);
    t.is(message.subject, 'stored over tls');
  } finally {
    await sys.stop();
  }
});

test('PGSSLMODE applies to a DATABASE_URL without sslmode (release and the app); an sslmode in the URL wins', async (t) => {
  const plain = urlOf(t, 'mw_tls_env');
  t.is(loadConfig({ DATABASE_URL: plain, PGSSLMODE: 'no-verify' }).db.url, `${plain}?sslmode=no-verify`);
  t.is(
    loadConfig({ DATABASE_URL: `${plain}?sslmode=disable`, PGSSLMODE: 'no-verify' }).db.url,
    `${plain}?sslmode=disable`,
  );
  // without TLS the server refuses (hostssl only): this is what PGSSLMODE changes
  await t.throwsAsync(sessionUsesTls({ DATABASE_URL: plain }), { message: /no pg_hba\.conf entry .* no encryption/ });
  const migrated = await release(loadConfig({ DATABASE_URL: plain, PGSSLMODE: 'no-verify' }));
  t.true(migrated.created);
  t.true(await sessionUsesTls({ DATABASE_URL: plain, PGSSLMODE: 'no-verify' }));
});

test('with this pg driver, sslmode=require verifies the certificate like verify-full: a private CA needs sslrootcert, or no-verify', async (t) => {
  // pg 8 treats prefer/require/verify-ca as verify-full (libpq's require does not verify): documented in docs/platforms.md
  await t.throwsAsync(sessionUsesTls({ DATABASE_URL: urlOf(t, 'postgres', '?sslmode=require') }), {
    message: /unable to verify the first certificate|self[- ]signed certificate/,
  });
  t.true(
    await sessionUsesTls({
      DATABASE_URL: urlOf(
        t,
        'postgres',
        `?sslmode=require&sslrootcert=${encodeURIComponent(t.context.pg.certs.caFile)}`,
      ),
    }),
  );
  t.true(await sessionUsesTls({ DATABASE_URL: urlOf(t, 'postgres', '?sslmode=no-verify') }));
  t.true(
    await sessionUsesTls({ DATABASE_URL: urlOf(t, 'postgres', '?uselibpqcompat=true&sslmode=require') }),
    'libpq semantics on request',
  );
  // a CA that did not sign the server's certificate is refused
  await t.throwsAsync(
    sessionUsesTls({
      DATABASE_URL: urlOf(
        t,
        'postgres',
        `?sslmode=verify-full&sslrootcert=${encodeURIComponent(t.context.pg.certs.otherCaFile)}`,
      ),
    }),
    { message: /certificate/ },
  );
});
