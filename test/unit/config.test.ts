import test from 'ava';
import { availableParallelism } from 'node:os';
import { ConfigError, loadConfig } from '../../src/core/config.js';

test('defaults need no configuration at all', (t) => {
  const c = loadConfig({});
  t.is(c.http.port, 3000);
  t.is(c.smtp.port, 2525);
  t.deepEqual(c.mail.domains, ['mailwright.test']);
  t.is(c.db.url, 'postgres://postgres@127.0.0.1:5432/mailwright');
  t.is(c.redis.url, 'redis://127.0.0.1:6379');
  t.is(c.mail.maxMessageBytes, 25 * 1024 * 1024);
  t.true(Object.isFrozen(c));
});

test('MAIL_DOMAINS is a trimmed, lower-cased list; port 0 is allowed', (t) => {
  const c = loadConfig({ MAIL_DOMAINS: ' A.test, b.TEST ,', PORT: '0', SMTP_PORT: '0' });
  t.deepEqual(c.mail.domains, ['a.test', 'b.test']);
  t.is(c.http.port, 0);
});

test('invalid values fail at start, naming every bad variable at once', (t) => {
  const err = t.throws(
    () =>
      loadConfig({
        PORT: 'eighty',
        SMTP_PORT: '70000',
        MAX_MESSAGE_BYTES: '-1',
        MAIL_DOMAINS: 'bad domain!',
        TOKEN_SECRET: 'short',
      }),
    { instanceOf: ConfigError },
  );
  for (const name of ['PORT', 'SMTP_PORT', 'MAX_MESSAGE_BYTES', 'MAIL_DOMAINS', 'TOKEN_SECRET'])
    t.regex(err.message, new RegExp(`\\b${name}\\b`));
});

test('unrelated environment variables are ignored', (t) => {
  t.notThrows(() => loadConfig({ PATH: '/bin', HOME: '/root', SOMETHING_ELSE: 'x' }));
});

test('WORKER_THREADS: one per core but one (at least 1) unless set, 1 to 64', (t) => {
  t.is(loadConfig({}).worker.threads, Math.max(1, availableParallelism() - 1));
  t.is(loadConfig({ WORKER_THREADS: '3' }).worker.threads, 3);
  t.is(loadConfig({ WORKER_THREADS: '' }).worker.threads, Math.max(1, availableParallelism() - 1));
  for (const bad of ['0', '65', 'two'])
    t.regex(t.throws(() => loadConfig({ WORKER_THREADS: bad }), { instanceOf: ConfigError }).message, /WORKER_THREADS/);
});
