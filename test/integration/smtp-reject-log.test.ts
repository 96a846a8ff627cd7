import { PassThrough } from 'node:stream';
import anyTest, { type TestFn } from 'ava';
import { createLogger } from '../../src/core/log.js';
import type { Metrics } from '../../src/ops/metrics.js';
import { RawSmtp } from '../helpers/smtp-client.js';
import { type LogLine } from '../helpers/spawn-role.js';
import { startSystem, TEST_DOMAIN, type System } from '../helpers/system.js';

// One session repeating a refused command writes at most SMTP_LOG_REJECTS_PER_SESSION full smtp.rejected lines per
// kind and one smtp.rejected_summary at its end; the metrics count every reply.
const test = anyTest as TestFn<{ sys: System; logs: LogLine[] }>;
const PER_KIND = 3;

const captureLog = (logs: LogLine[]) => {
  const sink = new PassThrough();
  sink.on('data', (d: Buffer) => {
    for (const l of d.toString().split('\n').filter(Boolean)) logs.push(JSON.parse(l) as LogLine);
  });
  return createLogger({ log: { level: 'info', pretty: false } }, 'test', sink);
};

const replies = async (metrics: Metrics, code: string) =>
  (await metrics.smtpReplies.get()).values.find((v) => String(v.labels.code) === code)?.value ?? 0;

test.before(async (t) => {
  const logs: LogLine[] = [];
  const sys = await startSystem({
    roles: ['smtp'],
    env: { SMTP_MAX_RECIPIENTS: '2', SMTP_LOG_REJECTS_PER_SESSION: String(PER_KIND) },
    overrides: { log: captureLog(logs) },
  });
  t.context = { sys, logs };
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

test.serial(
  '300 pipelined refused RCPTs: a few full smtp.rejected lines per kind, one summary with every count, every reply counted',
  async (t) => {
    const { sys, logs } = t.context;
    const before = { 452: await replies(sys.deps.metrics, '452'), 550: await replies(sys.deps.metrics, '550') };
    const { client } = await RawSmtp.open(sys.smtpPort);
    let session: unknown;
    try {
      t.regex(await client.command('EHLO flood.test'), /^250/);
      t.regex(await client.command('MAIL FROM:<a@example.org>'), /^250/);
      // 150 to an accepted domain (2 accepted, then 148 × 452) interleaved with 150 to a foreign one (150 × 550)
      const lines: string[] = [];
      for (let i = 0; i < 150; i++) lines.push(`RCPT TO:<r${i}@${TEST_DOMAIN}>`, `RCPT TO:<r${i}@elsewhere.example>`);
      client.socket.write(lines.map((l) => l + '\r\n').join(''));
      const codes: string[] = [];
      for (let i = 0; i < lines.length; i++) codes.push((await client.reply()).slice(0, 3));
      t.is(codes.filter((c) => c === '250').length, 2);
      t.is(codes.filter((c) => c === '452').length, 148);
      t.is(codes.filter((c) => c === '550').length, 150);
      session = logs.find((l) => l.event === 'smtp.rejected')?.session;
      t.truthy(session);
      await client.command('QUIT').catch(() => '');
    } finally {
      client.socket.destroy();
    }

    const end = Date.now() + 5_000;
    while (!logs.some((l) => l.event === 'smtp.rejected_summary') && Date.now() < end)
      await new Promise((r) => setTimeout(r, 20));
    const full = logs.filter((l) => l.event === 'smtp.rejected' && l.session === session);
    t.is(full.filter((l) => l.reply === 452).length, PER_KIND, 'the first refusals of each kind in full');
    t.is(full.filter((l) => l.reply === 550).length, PER_KIND);
    t.is(full.length, 2 * PER_KIND);

    const summaries = logs.filter((l) => l.event === 'smtp.rejected_summary');
    t.is(summaries.length, 1, 'one summary line at the end of the session');
    const summary = summaries[0]!;
    t.like(summary, { level: 30, session, total: 298, suppressed: 298 - 2 * PER_KIND });
    const kinds = (
      summary.rejected as Array<{ stage: string; reply: number; code: string; count: number; logged: number }>
    )
      .map((k) => `${k.stage} ${k.reply} ${k.code} ${k.count} ${k.logged}`)
      .sort();
    t.deepEqual(kinds, [`rcpt 452 too_many_recipients 148 ${PER_KIND}`, `rcpt 550 relay_denied 150 ${PER_KIND}`]);

    // the metrics count every reply, logged or not
    t.is(await replies(sys.deps.metrics, '452'), before[452] + 148);
    t.is(await replies(sys.deps.metrics, '550'), before[550] + 150);
  },
);

test.serial('a session with fewer refusals than the limit writes them in full and no summary', async (t) => {
  const { sys, logs } = t.context;
  const r = await RawSmtp.sendOnce(
    sys.smtpPort,
    'a@example.org',
    [`ok@${TEST_DOMAIN}`, 'x@elsewhere.example'],
    'Subject: one\r\n\r\nbody\r\n',
  );
  t.regex(r.rcpts[1]!, /^550/);
  const line = logs.find(
    (l) =>
      l.event === 'smtp.rejected' &&
      l.reply === 550 &&
      !logs.some((s) => s.event === 'smtp.rejected_summary' && s.session === l.session),
  );
  t.truthy(line, 'the refusal is logged in full');
  // the session has closed (sendOnce sent QUIT and destroyed the socket): still no summary for it
  await new Promise((res) => setTimeout(res, 200));
  t.false(logs.some((l) => l.event === 'smtp.rejected_summary' && l.session === line!.session));
});
