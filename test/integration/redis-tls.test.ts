import anyTest, { type TestFn } from 'ava';
import { createContainer } from '../../src/container.js';
import { loadConfig } from '../../src/core/config.js';
import { startTlsRedis, type TlsRedis } from '../helpers/tls-redis.js';
import { startSystem } from '../helpers/system.js';

// A managed Redis with TLS and a private CA: rediss:// with REDIS_TLS_CA_FILE, against a redis-server that
// speaks TLS only (Debian's build supports --tls-port), with a CA generated for this run.
const test = anyTest as TestFn<{ redis: TlsRedis }>;
test.before(async (t) => {
  t.context.redis = await startTlsRedis();
});
test.after.always(async (t) => {
  await t.context.redis?.stop();
});

test('rediss:// with REDIS_TLS_CA_FILE: ingress, worker, pub/sub and waits all run over TLS', async (t) => {
  const { redis } = t.context;
  const sys = await startSystem({ env: { REDIS_URL: redis.url, REDIS_TLS_CA_FILE: redis.caFile } });
  try {
    t.is(sys.config.redis.url, redis.url);
    const box = await sys.createMailbox('?ttl_minutes=30');
    // a blocking wait: the web role's subscriber hears the worker's publish over TLS
    const waiting = sys.json(`/api/v1/mailboxes/${box.address}/messages?wait=20&subject=tls`, { token: box.token });
    await sys.send({ to: box.address, subject: 'over tls', text: 'x' });
    const r = await waiting;
    t.is(r.status, 200);
    t.is(r.body[0]?.subject, 'over tls');
    const clients = await sys.deps.redis.client('LIST');
    t.regex(String(clients), /name=mailwright-subscriber/);
  } finally {
    await sys.stop();
  }
});

test('rediss:// without the CA, or with a CA that did not sign the server: start-up fails, naming the URL and the reason', async (t) => {
  const { redis } = t.context;
  for (const env of [{ REDIS_URL: redis.url }, { REDIS_URL: redis.url, REDIS_TLS_CA_FILE: redis.otherCaFile }]) {
    const config = loadConfig({
      ...env,
      LOG_LEVEL: 'silent',
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/postgres',
    });
    const error = await t.throwsAsync(createContainer(config, 'test'));
    t.regex(
      error.message,
      new RegExp(`^Redis is not answering at ${redis.url.replace(/[.]/g, '\\.')} \\(.*certificate`, 'i'),
    );
  }
});
