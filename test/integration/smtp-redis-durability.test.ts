import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import anyTest, { type TestFn } from 'ava';
import { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createLogger } from '../../src/core/log.js';
import { QUEUE } from '../../src/queue/names.js';
import { startPrivateRedis } from '../helpers/private-services.js';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { RawSmtp } from '../helpers/smtp-client.js';
import { spawnRole, type LogLine } from '../helpers/spawn-role.js';
import { startSystem, TEST_DOMAIN, type System } from '../helpers/system.js';
import { createUserWithKey } from '../helpers/users.js';
import { decodeRaw } from '../../src/queue/payloads.js';

// Requirements that had no test of their own (found by an audit).
const PLAN_CACHE_MS = 200;
const test = anyTest as TestFn<{ sys: System; logs: LogLine[] }>;

/** A logger writing parsed JSON lines into `logs` (the test system's own logger is silent). */
const captureLog = (logs: LogLine[]) => {
  const sink = new PassThrough();
  sink.on('data', (d: Buffer) => { for (const l of d.toString().split('\n').filter(Boolean)) logs.push(JSON.parse(l) as LogLine); });
  return createLogger({ log: { level: 'info', pretty: false } }, 'test', sink);
};

test.before(async (t) => {
  const logs: LogLine[] = [];
  const sys = await startSystem({ roles: ['web', 'smtp'], env: { PLAN_CACHE_MS: String(PLAN_CACHE_MS) }, overrides: { log: captureLog(logs) } });
  t.context = { sys, logs };
});
test.after.always(async (t) => { await t.context.sys?.stop(); });

const message = (subject: string) =>
  `From: a@example.org\r\nTo: x@${TEST_DOMAIN}\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@example.org>\r\n\r\nhello\r\n`;

const aofEnabled = async (url: string) => {
  const r = new Redis(url, { maxRetriesPerRequest: 1 });
  try { return /aof_enabled:1/.test(await r.info('persistence')); } finally { r.disconnect(); }
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
  t.true(logs.findIndex((l) => l.event === 'smtp.redis_not_durable') < logs.findIndex((l) => l.event === 'smtp.listening'));
});

test('the SMTP role does not warn when Redis writes an append-only file', async (t) => {
  const redis = await startPrivateRedis();
  const logs: LogLine[] = [];
  let sys: System | undefined;
  try {
    t.true(await aofEnabled(redis.url), 'precondition: the private Redis runs with AOF');
    sys = await startSystem({ roles: ['smtp'], database: t.context.sys.database, env: { REDIS_URL: redis.url }, overrides: { log: captureLog(logs) } });
    t.truthy(logs.find((l) => l.event === 'smtp.listening'));
    t.is(logs.filter((l) => l.event === 'smtp.redis_not_durable').length, 0);
  } finally {
    await sys?.stop();
    await redis.stop();
  }
});

test('the SMTP ingress never touches Postgres: a real smtp process with an unreachable DATABASE_URL accepts mail (250) into Redis', async (t) => {
  // "Postgres" is a TCP listener that counts and drops connections: unreachable as a database, and it sees any attempt
  const attempts: Socket[] = [];
  const fakePg = createServer((s) => { attempts.push(s); s.destroy(); });
  fakePg.listen(0, '127.0.0.1');
  await once(fakePg, 'listening');
  const pgPort = (fakePg.address() as AddressInfo).port;
  const prefix = uniquePrefix();
  const role = spawnRole('smtp', {
    DATABASE_URL: `postgres://postgres@127.0.0.1:${pgPort}/none`,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: prefix,
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: '0',
    MAIL_DOMAINS: TEST_DOMAIN,
    SMTP_CONNECTIONS_PER_IP: '1000000',
  });
  const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue(QUEUE.inbound, { connection, prefix });
  try {
    const listening = await role.waitFor('smtp.listening');
    const raw = message('no-postgres');
    const r = await RawSmtp.sendOnce(Number(listening.port), 'sender@example.org', [`someone@${TEST_DOMAIN}`], raw);
    const m = /^250 2\.0\.0 Ok: queued as ([0-9A-Z]{26})$/.exec(r.data);
    t.truthy(m, r.data);
    const job = await Job.fromId(queue, m![1]!);
    t.truthy(job, `job ${m![1]} is in Redis under ${prefix}`);
    t.deepEqual(job!.data.envelope, { from: 'sender@example.org', to: [`someone@${TEST_DOMAIN}`] });
    t.is(decodeRaw(job!.data)!.toString('latin1'), raw);
    t.truthy(await connection.exists(`${prefix}:${QUEUE.inbound}:${m![1]}`), 'the job key carries the role\'s QUEUE_PREFIX');
    // the same process also warned about the non-durable Redis, and nothing went wrong
    t.truthy(role.lines.find((l) => l.event === 'smtp.redis_not_durable'));
    role.signal('SIGTERM');
    const exit = await role.exited;
    t.is(exit.code, 0, JSON.stringify(role.lines.slice(-5)));
    t.deepEqual(role.lines.filter((l) => (l.level ?? 0) >= 50 || String(l.event).startsWith('db.')), []);
    t.is(attempts.length, 0, 'no connection to the database, from start to exit');
  } finally {
    await role.stop();
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    connection.disconnect();
    await dropPrefix(prefix);
    fakePg.close();
  }
});

// serial (ava runs serial tests first): no other test in this file may refill the web process's plan cache meanwhile
test.serial(`a running process picks up a changed plan row once PLAN_CACHE_MS (${PLAN_CACHE_MS} ms) has passed`, async (t) => {
  const { sys } = t.context;
  const before = await sys.createMailbox('?ttl_minutes=600');
  const loadedBy = Date.now(); // the plan cache was filled during that request, at the latest now
  t.is(before.ttl_minutes, 60, 'anonymous max, as seeded');

  await sys.deps.db('plans').where({ id: 'anonymous' }).update({ max_ttl_minutes: 120 });
  // no fixed sleep: create mailboxes until the new cap shows. Until the cache period has passed either cap is
  // right; after it (plus scheduling slack) only the new one is
  const deadline = Date.now() + PLAN_CACHE_MS + 5_000;
  let stale = 0;
  for (;;) {
    const startedAt = Date.now();
    const box = await sys.createMailbox('?ttl_minutes=600');
    if (box.ttl_minutes === 120) break;
    t.is(box.ttl_minutes, 60);
    t.true(startedAt - loadedBy < PLAN_CACHE_MS + 50, `still the old cap ${startedAt - loadedBy} ms after the plan was cached`);
    stale++;
    if (Date.now() > deadline) { t.fail('the new cap never showed'); return; }
    await new Promise((res) => setTimeout(res, 20));
  }
  t.log(`${stale} creation(s) inside the cache period still saw the old cap`);
  const after = await sys.createMailbox('?ttl_minutes=600');
  t.is(after.ttl_minutes, 120);
  t.is(Date.parse(after.expires_at) - Date.parse(after.created_at), 120 * sys.config.plans.ttlUnitMs);
});

test('the seeded free plan caps an API-key caller\'s TTL at 60 minutes', async (t) => {
  const { sys } = t.context;
  const plan = await sys.deps.db('plans').where({ id: 'free' }).first();
  t.is(plan.max_ttl_minutes, 60);
  const { key } = await createUserWithKey(sys.deps.stores, 'free');
  const r = await sys.json('/api/v1/mailboxes?ttl_minutes=600', { method: 'POST', token: key });
  t.is(r.status, 201, JSON.stringify(r.body));
  t.is(r.body.ttl_minutes, 60);
  t.is(Date.parse(r.body.expires_at) - Date.parse(r.body.created_at), 60 * sys.config.plans.ttlUnitMs);
  const row = await sys.deps.db('mailboxes').where({ address: r.body.address }).first();
  t.is(row.plan_id, 'free');
});

test('addresses are unique case-insensitively in the database', async (t) => {
  const { sys } = t.context;
  const local = `case-${Date.now().toString(36)}`;
  const first = await sys.deps.stores.mailboxes.create({ address: `${local}@${TEST_DOMAIN}`, ownerUserId: null, planId: 'anonymous', ttlMs: 60_000 });
  t.is(first.address, `${local}@${TEST_DOMAIN}`);

  // straight into the table (the store lower-cases; the database must hold the line on its own)
  const mixed = `${local.toUpperCase()}@${TEST_DOMAIN.toUpperCase()}`;
  const err = await t.throwsAsync(sys.deps.db('mailboxes').insert({ address: mixed, plan_id: 'anonymous', expires_at: sys.deps.db.raw(`now() + interval '1 hour'`) }));
  t.is((err as Error & { code?: string }).code, '23505', 'unique_violation');
  t.is((err as Error & { constraint?: string }).constraint, 'mailboxes_address_key');
  // and through the store
  await t.throwsAsync(sys.deps.stores.mailboxes.create({ address: `${local[0]!.toUpperCase()}${local.slice(1)}@${TEST_DOMAIN}`, ownerUserId: null, planId: 'anonymous', ttlMs: 60_000 }), { message: /mailboxes_address_key/ });
  t.is((await sys.deps.db('mailboxes').whereRaw('lower(address) = ?', [`${local}@${TEST_DOMAIN}`])).length, 1);
});
