import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import test from 'ava';
import { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { QUEUE } from '../../src/queue/names.js';
import { decodeRaw } from '../../src/queue/payloads.js';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { RawSmtp } from '../helpers/smtp-client.js';
import { spawnRole } from '../helpers/spawn-role.js';
import { TEST_DOMAIN } from '../helpers/system.js';

// The SMTP ingress checks recipients against configuration and enqueues: it never needs the database.

const message = (subject: string) =>
  `From: a@example.org\r\nTo: x@${TEST_DOMAIN}\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@example.org>\r\n\r\nhello\r\n`;

test('the SMTP ingress never touches Postgres: a real smtp process with an unreachable DATABASE_URL accepts mail (250) into Redis', async (t) => {
  // "Postgres" is a TCP listener that counts and drops connections: unreachable as a database, and it sees any attempt
  const attempts: Socket[] = [];
  const fakePg = createServer((s) => {
    attempts.push(s);
    s.destroy();
  });
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
    t.truthy(
      await connection.exists(`${prefix}:${QUEUE.inbound}:${m![1]}`),
      "the job key carries the role's QUEUE_PREFIX",
    );
    // the same process also warned about the non-durable Redis, and nothing went wrong
    t.truthy(role.lines.find((l) => l.event === 'smtp.redis_not_durable'));
    role.signal('SIGTERM');
    const exit = await role.exited;
    t.is(exit.code, 0, JSON.stringify(role.lines.slice(-5)));
    t.deepEqual(
      role.lines.filter((l) => (l.level ?? 0) >= 50 || String(l.event).startsWith('db.')),
      [],
    );
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
