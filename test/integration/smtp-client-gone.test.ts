import { PassThrough } from 'node:stream';
import anyTest, { type TestFn } from 'ava';
import { createLogger } from '../../src/core/log.js';
import type { Metrics } from '../../src/ops/metrics.js';
import { RawSmtp } from '../helpers/smtp-client.js';
import { type LogLine } from '../helpers/spawn-role.js';
import { startSystem, TEST_DOMAIN, type System } from '../helpers/system.js';

// A client hanging up mid-DATA is its own outcome (smtp.client_gone, info, counted per stage); 451 and the
// service_unavailable warning stay for "our side could not take it".
const test = anyTest as TestFn<{ sys: System; logs: LogLine[] }>;

/** A logger writing parsed JSON lines into `logs` (the test system's own logger is silent). */
const captureLog = (logs: LogLine[]) => {
  const sink = new PassThrough();
  sink.on('data', (d: Buffer) => {
    for (const l of d.toString().split('\n').filter(Boolean)) logs.push(JSON.parse(l) as LogLine);
  });
  return createLogger({ log: { level: 'info', pretty: false } }, 'test', sink);
};

/** The value of one counter series in the registry (0 when the series does not exist yet). */
const counter = async (metrics: Metrics, name: string, labels: Record<string, string>) => {
  const metric = metrics.registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  return values.find((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))?.value ?? 0;
};

const until = async (what: string, check: () => boolean, timeoutMs = 5_000) => {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

test.before(async (t) => {
  const logs: LogLine[] = [];
  t.context = { logs, sys: await startSystem({ roles: ['smtp'], overrides: { log: captureLog(logs) } }) };
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

test('a client that hangs up mid-DATA is counted and logged as client_gone (info, no stack), not as a 451', async (t) => {
  const { sys, logs } = t.context;
  const { metrics } = sys.deps;
  const replies451 = await counter(metrics, 'mailwright_smtp_replies_total', { code: '451' });
  const gone = await counter(metrics, 'mailwright_smtp_client_disconnects_total', { stage: 'data' });

  const { client } = await RawSmtp.open(sys.smtpPort);
  t.regex(await client.command('EHLO gone.test'), /^250/);
  t.regex(await client.command('MAIL FROM:<a@example.org>'), /^250/);
  t.regex(await client.command(`RCPT TO:<gone@${TEST_DOMAIN}>`), /^250/);
  t.regex(await client.command('DATA'), /^354/);
  client.socket.write('Subject: half a message\r\n\r\nthe first lines of a body that never ends\r\n');
  await new Promise((r) => setTimeout(r, 100));
  client.socket.destroy();

  await until('smtp.client_gone', () => logs.some((l) => l.event === 'smtp.client_gone'));
  const line = logs.find((l) => l.event === 'smtp.client_gone')!;
  t.is(line.level, 30, 'info');
  t.is(line.stage, 'data');
  t.is(line.err, undefined, 'no error object, no stack');
  t.false(JSON.stringify(line).includes('stack'));
  t.is(await counter(metrics, 'mailwright_smtp_client_disconnects_total', { stage: 'data' }), gone + 1);
  t.is(
    await counter(metrics, 'mailwright_smtp_replies_total', { code: '451' }),
    replies451,
    'no 451 was sent, none counted',
  );
  const sessionWarnings = logs.filter(
    (l) => String(l.event).startsWith('smtp.') && l.event !== 'smtp.redis_not_durable' && (l.level ?? 0) >= 40,
  );
  t.deepEqual(sessionWarnings, [], 'no warning for the session');
  t.false(logs.some((l) => l.code === 'service_unavailable'));
});

test('a real Redis failure is still a 451, counted and warned as service_unavailable, and no client_gone', async (t) => {
  const logs: LogLine[] = [];
  const sys = await startSystem({
    roles: ['smtp'],
    database: t.context.sys.database,
    overrides: { log: captureLog(logs) },
  });
  try {
    sys.deps.redis.disconnect();
    const r = await RawSmtp.sendOnce(
      sys.smtpPort,
      'a@example.org',
      [`down@${TEST_DOMAIN}`],
      'Subject: down\r\n\r\nbody\r\n',
    );
    t.regex(r.data, /^451 4\.3\.0 /);
    t.is(await counter(sys.deps.metrics, 'mailwright_smtp_replies_total', { code: '451' }), 1);
    t.is(await counter(sys.deps.metrics, 'mailwright_smtp_client_disconnects_total', { stage: 'data' }), 0);
    await until('smtp.rejected', () => logs.some((l) => l.event === 'smtp.rejected'));
    const warned = logs.find((l) => l.event === 'smtp.rejected')!;
    t.like(warned, { level: 40, stage: 'data', code: 'service_unavailable', reply: 451 });
    t.false(logs.some((l) => l.event === 'smtp.client_gone'));
  } finally {
    await sys.stop();
  }
});
