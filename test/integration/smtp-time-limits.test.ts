import anyTest, { type TestFn } from 'ava';
import { RawSmtp } from '../helpers/smtp-client.js';
import { startSystem, type System } from '../helpers/system.js';
import { decodeRaw } from '../../src/queue/payloads.js';

// SMTP_MAX_DATA_MS and SMTP_MAX_SESSION_MS against clients that trickle bytes (slowloris). The idle timeout
// (SMTP_SOCKET_TIMEOUT_MS, 60 s by default) never fires here: every byte resets it.
const test = anyTest as TestFn<{ dataSys: System; sessionSys: System }>;
const DATA_MS = 300;
const SESSION_MS = 1500;
const TIME_LIMIT = '421 4.4.2 session time limit exceeded, closing connection';

test.before(async (t) => {
  t.context.dataSys = await startSystem({
    roles: ['web', 'smtp', 'worker'],
    env: { SMTP_MAX_DATA_MS: String(DATA_MS) },
  });
  t.context.sessionSys = await startSystem({
    roles: ['web', 'smtp', 'worker'],
    env: { SMTP_MAX_SESSION_MS: String(SESSION_MS) },
  });
});
test.after.always(async (t) => {
  await t.context.dataSys?.stop();
  await t.context.sessionSys?.stop();
});

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const message = (subject: string, to: string) =>
  `From: a@example.org\r\nTo: ${to}\r\nSubject: ${subject}\r\n\r\nhello\r\n`;

const closed = (client: RawSmtp, timeoutMs = 5_000) =>
  new Promise<boolean>((resolve) => {
    if (client.socket.destroyed || client.socket.closed) return resolve(true);
    const t = setTimeout(() => resolve(false), timeoutMs);
    client.socket.once('close', () => {
      clearTimeout(t);
      resolve(true);
    });
  });

/** Starts a DATA and writes one byte every `everyMs` until the connection closes; returns the reply it got. */
async function trickleData(sys: System, to: string, subject: string, everyMs: number) {
  const { client } = await RawSmtp.open(sys.smtpPort);
  await client.command('EHLO slow.test');
  await client.command('MAIL FROM:<slow@example.org>');
  await client.command(`RCPT TO:<${to}>`);
  const go = await client.command('DATA');
  if (!go.startsWith('354')) throw new Error(`DATA: ${go}`);
  const started = Date.now();
  client.socket.write(`From: slow@example.org\r\nTo: ${to}\r\nSubject: ${subject}\r\n\r\n`);
  let dripping = true;
  const drip = (async () => {
    while (dripping && !client.socket.destroyed) {
      client.socket.write('x');
      await pause(everyMs);
    }
  })();
  try {
    const reply = await client.reply(SESSION_MS * 4);
    const ms = Date.now() - started;
    return { reply, ms, closed: await closed(client) };
  } finally {
    dripping = false;
    await drip;
    client.socket.destroy();
  }
}

/** Every job in the queue (waiting or done) whose raw message has `subject`. */
async function jobsWithSubject(sys: System, subject: string) {
  const states = ['waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized'] as const;
  const jobs = (
    await Promise.all([sys.deps.queues.inbound, sys.deps.queues.inboundLarge].map((q) => q.getJobs([...states])))
  ).flat();
  return jobs.filter((j) => decodeRaw(j.data)!.toString('latin1').includes(subject));
}

async function openSessionsDrainTo0(sys: System) {
  const until = Date.now() + 5_000;
  for (;;) {
    const { values } = await sys.deps.metrics.smtpOpenSessions.get();
    const open = values[0]?.value ?? 0;
    if (open === 0 || Date.now() > until) return open;
    await pause(25);
  }
}

test.serial(
  'SMTP_MAX_DATA_MS: a DATA trickled past the limit gets 421 4.4.2 and is closed, nothing is enqueued or stored; the next message is accepted',
  async (t) => {
    const sys = t.context.dataSys;
    const box = await sys.createMailbox();
    const r = await trickleData(sys, box.address, 'trickled-data', 100);
    t.is(r.reply, TIME_LIMIT);
    t.true(r.ms >= DATA_MS - 20 && r.ms < DATA_MS + 2_000, `421 after ${r.ms} ms`);
    t.true(r.closed, 'the server closed the connection');

    const ok = await RawSmtp.sendOnce(
      sys.smtpPort,
      'a@example.org',
      [box.address],
      message('after-data-limit', box.address),
    );
    t.regex(ok.data, /^250 2\.0\.0 Ok: queued as /);
    const stored = await sys.waitForMessages(box.address, box.token, 1);
    await pause(300); // a stray job for the trickled message would be stored by now as well
    const list = (await sys.json(`/api/v1/mailboxes/${box.address}/messages`, { token: box.token })).body as any[];
    t.is(list.length, 1, JSON.stringify(list));
    t.is(stored[0].subject, 'after-data-limit');
    t.deepEqual(await jobsWithSubject(sys, 'trickled-data'), [], 'no job for the trickled message');
    t.is(await openSessionsDrainTo0(sys), 0, 'every closed session released its timers');
  },
);

test.serial(
  'SMTP_MAX_DATA_MS counts each DATA from 354 to the final dot, not the session: quick messages past it in one session are all accepted',
  async (t) => {
    const sys = t.context.dataSys;
    const box = await sys.createMailbox();
    const { client } = await RawSmtp.open(sys.smtpPort);
    try {
      await client.command('EHLO quick.test');
      for (let i = 0; i < 3; i++) {
        t.regex(await client.command('MAIL FROM:<a@example.org>'), /^250/);
        t.regex(await client.command(`RCPT TO:<${box.address}>`), /^250/);
        t.regex(await client.data(message(`quick-${i}`, box.address)), /^250 /);
        await pause(DATA_MS + 100); // idle between transactions: no DATA limit runs
        t.regex(await client.command('NOOP'), /^250/);
      }
    } finally {
      client.socket.destroy();
    }
    t.is((await sys.waitForMessages(box.address, box.token, 3)).length, 3);
  },
);

test.serial(
  'SMTP_MAX_SESSION_MS: a session that keeps sending NOOPs gets 421 4.4.2 and is closed; a new session is served',
  async (t) => {
    const sys = t.context.sessionSys;
    const box = await sys.createMailbox();
    const { client } = await RawSmtp.open(sys.smtpPort);
    const started = Date.now();
    let reply: string;
    try {
      await client.command('EHLO noop.test');
      for (;;) {
        reply = await client.command('NOOP').catch((err: Error) => `error: ${err.message}`);
        if (!reply.startsWith('250') || Date.now() - started > SESSION_MS * 4) break;
        await pause(100);
      }
      const ms = Date.now() - started;
      t.is(reply, TIME_LIMIT);
      t.true(ms >= SESSION_MS - 50 && ms < SESSION_MS + 2_000, `421 after ${ms} ms`);
      t.true(await closed(client), 'the server closed the connection');
    } finally {
      client.socket.destroy();
    }
    const ok = await RawSmtp.sendOnce(
      sys.smtpPort,
      'a@example.org',
      [box.address],
      message('after-session-limit', box.address),
    );
    t.regex(ok.data, /^250 2\.0\.0 Ok: queued as /);
    t.is((await sys.waitForMessages(box.address, box.token, 1))[0].subject, 'after-session-limit');
    t.is(await openSessionsDrainTo0(sys), 0, 'every closed session released its timers');
  },
);

test.serial('SMTP_MAX_SESSION_MS reached in the middle of DATA: 421, the message is not accepted', async (t) => {
  const sys = t.context.sessionSys;
  const box = await sys.createMailbox();
  // 200 ms per byte is far inside SMTP_MAX_DATA_MS (5 min): only the session limit can end this
  const r = await trickleData(sys, box.address, 'trickled-session', 200);
  t.is(r.reply, TIME_LIMIT);
  t.true(r.closed, 'the server closed the connection');
  const ok = await RawSmtp.sendOnce(
    sys.smtpPort,
    'a@example.org',
    [box.address],
    message('after-session-data', box.address),
  );
  t.regex(ok.data, /^250 /);
  await sys.waitForMessages(box.address, box.token, 1);
  await pause(300);
  const list = (await sys.json(`/api/v1/mailboxes/${box.address}/messages`, { token: box.token })).body as any[];
  t.deepEqual(
    list.map((m) => m.subject),
    ['after-session-data'],
  );
  t.deepEqual(await jobsWithSubject(sys, 'trickled-session'), [], 'no job for the trickled message');
});
