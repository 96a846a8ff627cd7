import { PassThrough } from 'node:stream';
import anyTest, { type TestFn } from 'ava';
import { Redis } from 'ioredis';
import { createLogger } from '../../src/core/log.js';
import { startPrivateRedis } from '../helpers/private-services.js';
import { TEST_REDIS_URL } from '../helpers/redis.js';
import { type LogLine } from '../helpers/spawn-role.js';
import { startSystem, type System } from '../helpers/system.js';

// The SMTP role acknowledges mail once it is in Redis, so it says at start when Redis would lose it on a crash.
const test = anyTest as TestFn<{ sys: System; logs: LogLine[] }>;

/** A logger writing parsed JSON lines into `logs` (the test system's own logger is silent). */
const captureLog = (logs: LogLine[]) => {
  const sink = new PassThrough();
  sink.on('data', (d: Buffer) => {
    for (const l of d.toString().split('\n').filter(Boolean)) logs.push(JSON.parse(l) as LogLine);
  });
  return createLogger({ log: { level: 'info', pretty: false } }, 'test', sink);
};

test.before(async (t) => {
  const logs: LogLine[] = [];
  const sys = await startSystem({ roles: ['web', 'smtp'], overrides: { log: captureLog(logs) } });
  t.context = { sys, logs };
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

const aofEnabled = async (url: string) => {
  const r = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    return /aof_enabled:1/.test(await r.info('persistence'));
  } finally {
    r.disconnect();
  }
};

test('the SMTP role warns at start when Redis has no append-only file (smtp.redis_not_durable)', async (t) => {
  const { logs } = t.context;
  t.false(await aofEnabled(TEST_REDIS_URL), 'precondition: the shared test Redis runs without AOF');
  const warned = logs.filter((l) => l.event === 'smtp.redis_not_durable');
  t.is(warned.length, 1, JSON.stringify(logs.map((l) => l.event)));
  t.is(warned[0]!.level, 40, 'warn');
  t.true(['none', 'rdb-only'].includes(String(warned[0]!.persistence)), String(warned[0]!.persistence));
  t.regex(String(warned[0]!.hint), /appendonly yes/);
  // logged before the role listens
  t.true(
    logs.findIndex((l) => l.event === 'smtp.redis_not_durable') < logs.findIndex((l) => l.event === 'smtp.listening'),
  );
});

test('the SMTP role does not warn when Redis writes an append-only file', async (t) => {
  const redis = await startPrivateRedis();
  const logs: LogLine[] = [];
  let sys: System | undefined;
  try {
    t.true(await aofEnabled(redis.url), 'precondition: the private Redis runs with AOF');
    sys = await startSystem({
      roles: ['smtp'],
      database: t.context.sys.database,
      env: { REDIS_URL: redis.url },
      overrides: { log: captureLog(logs) },
    });
    t.truthy(logs.find((l) => l.event === 'smtp.listening'));
    t.is(logs.filter((l) => l.event === 'smtp.redis_not_durable').length, 0);
  } finally {
    await sys?.stop();
    await redis.stop();
  }
});
