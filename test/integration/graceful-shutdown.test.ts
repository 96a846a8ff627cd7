import anyTest, { type TestFn } from 'ava';
import { enqueueInbound } from '../../src/ingress/enqueue.js';
import { RawSmtp } from '../helpers/smtp-client.js';
import { envFor, spawnRole, type RoleProcess } from '../helpers/spawn-role.js';
import { startSystem, type System } from '../helpers/system.js';

// Real entrypoints (node --import tsx src/bin/<role>.ts) joined to an in-process web role that is
// used only to create mailboxes and to look at Redis and Postgres.
const test = anyTest as TestFn<{ sys: System; procs: RoleProcess[] }>;
test.before(async (t) => {
  // completed jobs kept (default 0 removes them): the worker test counts them against stored rows
  const sys = await startSystem({ roles: ['web'], env: { QUEUE_KEEP_COMPLETED: '1000' } });
  await sys.deps.db('plans').update({ max_messages_per_mailbox: 100_000 });
  t.context = { sys, procs: [] };
});
test.after.always(async (t) => {
  await Promise.all(t.context.procs.map((p) => p.stop()));
  await t.context.sys?.stop();
});
const spawn = (
  t: { context: { sys: System; procs: RoleProcess[] } },
  role: 'smtp' | 'worker',
  extra: Record<string, string> = {},
) => {
  const p = spawnRole(role, envFor(t.context.sys.config, extra));
  t.context.procs.push(p);
  return p;
};

test('smtp: SIGTERM mid-DATA -> new sessions get 421, the DATA in progress is accepted and enqueued, exit 0', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox();
  const smtp = spawn(t, 'smtp');
  const { port } = (await smtp.waitFor('smtp.listening')) as unknown as { port: number };
  const { client } = await RawSmtp.open(port);
  try {
    await client.command('EHLO drain.test');
    t.regex(await client.command('MAIL FROM:<a@example.org>'), /^250/);
    t.regex(await client.command(`RCPT TO:<${box.address}>`), /^250/);
    t.regex(await client.command('DATA'), /^354/);
    client.socket.write('Subject: mid-data\r\nFrom: a@example.org\r\n\r\nfirst half\r\n');
    smtp.signal('SIGTERM');
    await smtp.waitFor('smtp.draining');

    const late = await RawSmtp.open(port);
    t.regex(late.greeting, /^421 /, 'a new session is refused with 421 while draining');
    late.client.socket.destroy();

    client.socket.write('second half\r\n.\r\n');
    const reply = await client.reply();
    t.regex(reply, /^250 2\.0\.0 Ok: queued as [0-9A-Z]{26}$/);
    const ingressId = reply.split(' ').at(-1)!;
    t.regex(await client.command('MAIL FROM:<a@example.org>').catch((e: Error) => e.message), /421|closed/);

    const exit = await smtp.exited;
    t.is(exit.code, 0);
    t.truthy(smtp.lines.find((l) => l.event === 'shutdown.done'));
    const job = await sys.deps.queues.inbound.getJob(ingressId);
    t.is(job?.data.envelope.to[0], box.address);
  } finally {
    client.socket.destroy();
  }
});

test('smtp: a second signal exits at once', async (t) => {
  const smtp = spawn(t, 'smtp', { SMTP_CLOSE_TIMEOUT_MS: '60000' });
  const { port } = (await smtp.waitFor('smtp.listening')) as unknown as { port: number };
  const { client } = await RawSmtp.open(port);
  await client.command('EHLO slow.test');
  await client.command('MAIL FROM:<a@example.org>'); // a transaction in progress holds the drain
  smtp.signal('SIGTERM');
  await smtp.waitFor('smtp.draining');
  const second = Date.now();
  smtp.signal('SIGTERM');
  const exit = await smtp.exited;
  t.is(exit.code, 1);
  t.true(exit.at - second < 2_000, `exited ${exit.at - second} ms after the second signal`);
  t.truthy(smtp.lines.find((l) => l.event === 'shutdown.forced'));
  client.socket.destroy();
});

test('smtp: shutdown never outlives SHUTDOWN_BUDGET_MS', async (t) => {
  const smtp = spawn(t, 'smtp', { SMTP_CLOSE_TIMEOUT_MS: '60000', SHUTDOWN_BUDGET_MS: '1500' });
  const { port } = (await smtp.waitFor('smtp.listening')) as unknown as { port: number };
  const { client } = await RawSmtp.open(port);
  await client.command('EHLO stuck.test');
  await client.command('MAIL FROM:<a@example.org>');
  const sent = Date.now();
  smtp.signal('SIGTERM');
  const exit = await smtp.exited;
  t.is(exit.code, 1);
  t.true(exit.at - sent >= 1_400 && exit.at - sent < 4_000, `exited after ${exit.at - sent} ms`);
  t.truthy(smtp.lines.find((l) => l.event === 'shutdown.timeout'));
  client.socket.destroy();
});

test('worker: SIGTERM mid-flow -> active jobs finish, none left stalled, the rest is delivered once by the next worker', async (t) => {
  const { sys } = t.context;
  const boxes = await Promise.all(Array.from({ length: 10 }, () => sys.createMailbox()));
  const total = 400;
  const ids: string[] = [];
  for (let i = 0; i < total; i += 100) {
    ids.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(100, total - i) }, (_, k) =>
          enqueueInbound(
            sys.deps.queues,
            {
              source: 'smtp',
              envelope: { from: 'a@example.org', to: [boxes[(i + k) % boxes.length]!.address] },
              raw: Buffer.from(`Subject: w-${i + k}\r\n\r\nbody\r\n`),
            },
            5_000,
          ),
        ),
      )),
    );
  }
  const first = spawn(t, 'worker', { WORKER_CONCURRENCY: '4' });
  await first.waitFor('inbound.stored');
  first.signal('SIGTERM');
  const exit = await first.exited;
  t.is(exit.code, 0);
  const counts = await sys.deps.queues.inbound.getJobCounts('active', 'waiting', 'completed', 'failed');
  t.is(counts.active, 0, 'no job left active (stalled) by the stopped worker');
  t.is(counts.failed, 0);
  const storedAfterFirst = Number((await sys.deps.db('messages').count({ n: '*' }))[0]!.n);
  t.true(
    storedAfterFirst > 0 && storedAfterFirst < total,
    `first worker stored ${storedAfterFirst} of ${total} before stopping`,
  );
  t.is(storedAfterFirst, counts.completed ?? 0, 'every job the first worker finished is stored, none half-done');

  const second = spawn(t, 'worker');
  await second.waitFor('worker.started');
  const until = Date.now() + 45_000;
  while (
    Number((await sys.deps.db('messages').where('subject', 'like', 'w-%').count({ n: '*' }))[0]!.n) < total &&
    Date.now() < until
  ) {
    await new Promise((r) => setTimeout(r, 100));
  }
  const rows: Array<{ subject: string; n: string }> = await sys.deps
    .db('messages')
    .where('subject', 'like', 'w-%')
    .select('subject')
    .count({ n: '*' })
    .groupBy('subject');
  t.log(
    `first worker stored ${storedAfterFirst}; all ${rows.length} stored ${Date.now() - (until - 45_000)} ms after the second worker started`,
  );
  t.is(rows.length, total, 'every message stored');
  t.true(
    rows.every((r) => Number(r.n) === 1),
    'none stored twice',
  );
  t.is(new Set(ids).size, total);
  second.signal('SIGTERM');
  t.is((await second.exited).code, 0);
});
