import anyTest, { type TestFn } from 'ava';
import { RawSmtp } from '../helpers/smtp-client.js';
import { uniquePrefix } from '../helpers/redis.js';
import { startSystem, type System } from '../helpers/system.js';

// Two complete processes' worth of roles (web + smtp + worker each) on one database and one queue
// prefix behave as one system: either SMTP accepts for any mailbox, jobs spread over both workers,
// either web process serves every mailbox.
const test = anyTest as TestFn<{ a: System; b: System }>;
test.before(async (t) => {
  const a = await startSystem({ env: { WORKER_CONCURRENCY: '4' } });
  await a.deps.db('plans').update({ max_messages_per_mailbox: 10_000 });
  const b = await startSystem({
    database: a.database,
    prefix: a.config.redis.prefix,
    env: { WORKER_CONCURRENCY: '4', TOKEN_SECRET: a.config.tokenSecret! },
  });
  t.context = { a, b };
});
test.after.always(async (t) => {
  await t.context.b?.stop();
  await t.context.a?.stop();
});

test('several smtp, worker and web roles on one database and prefix act as one system', async (t) => {
  const { a, b } = t.context;
  const done = { a: 0, b: 0 };
  a.worker!.inbound.on('completed', () => {
    done.a++;
  });
  b.worker!.inbound.on('completed', () => {
    done.b++;
  });
  const boxA = await a.createMailbox();
  const boxB = await b.createMailbox();
  const total = 200;
  const replies = [];
  for (let i = 0; i < total; i += 20) {
    replies.push(
      ...(await Promise.all(
        Array.from({ length: 20 }, (_, k) => {
          const n = i + k;
          const port = n % 2 ? a.smtpPort : b.smtpPort; // each SMTP accepts for mailboxes created on either web
          return RawSmtp.sendOnce(
            port,
            'a@example.org',
            [n % 3 ? boxA.address : boxB.address],
            `Subject: scale-${n}\r\n\r\nx\r\n`,
          );
        }),
      )),
    );
  }
  t.true(replies.every((r) => r.data.startsWith('250')));
  const expectA = Array.from({ length: total }, (_, n) => n).filter((n) => n % 3).length;
  // read each mailbox through the web process that did not create it
  const count = async (sys: System, box: { address: string; token: string }, want: number) => {
    const until = Date.now() + 30_000;
    for (;;) {
      const r = await sys.json(`/api/v1/mailboxes/${box.address}`, { token: box.token });
      if (r.body.message_count >= want || Date.now() > until) return r.body.message_count as number;
      await new Promise((res) => setTimeout(res, 50));
    }
  };
  t.is(await count(b, boxA, expectA), expectA);
  t.is(await count(a, boxB, total - expectA), total - expectA);
  const listA = await b.json(`/api/v1/mailboxes/${boxA.address}/messages?limit=200`, { token: boxA.token });
  t.is(new Set(listA.body.map((m: { subject: string }) => m.subject)).size, expectA);
  t.is(done.a + done.b, total);
  t.true(done.a > 0 && done.b > 0, `jobs spread over both workers: ${done.a} / ${done.b}`);
  t.log(`worker A ran ${done.a} jobs, worker B ${done.b}`);
  const metrics = await a.deps.metrics.registry.metrics();
  for (const stage of ['committed', 'published']) {
    const n = Number(
      new RegExp(`mailwright_pipeline_seconds_count\\{[^}]*stage="${stage}"[^}]*\\} (\\d+)`).exec(metrics)?.[1],
    );
    t.is(n, done.a, `pipeline latency observed at ${stage} for every message worker A stored`);
  }
});

test('a {hash-tagged} QUEUE_PREFIX (Redis Cluster) delivers and keeps every key in one slot', async (t) => {
  const tag = `{${uniquePrefix()}}`;
  const sys = await startSystem({ prefix: tag, database: t.context.a.database });
  try {
    const box = await sys.createMailbox();
    await sys.send({ to: box.address, subject: 'hash tag', text: 'x' });
    const [m] = await sys.waitForMessages(box.address, box.token, 1);
    t.is(m.subject, 'hash tag');
    const keys = await sys.deps.redis.keys(`${tag}:*`);
    t.true(keys.length > 0);
    t.true(
      keys.every((k) => k.startsWith(`${tag}:`)),
      'every BullMQ key carries the hash tag',
    );
  } finally {
    await sys.stop();
  }
});
