import anyTest, { type TestFn } from 'ava';
import { pino } from 'pino';
import { Gauge, Registry } from 'prom-client';
import { startMetricsServer } from '../../src/ops/metrics-server.js';
import { startSystem, type System } from '../helpers/system.js';

const test = anyTest as TestFn<{ admin: System; open: System }>;
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

test.before(async (t) => {
  // no worker: what the SMTP role enqueues stays waiting, so the depth gauge is predictable
  const admin = await startSystem({
    roles: ['web', 'smtp'],
    env: { ADMIN_USER: 'ops', ADMIN_PASSWORD: 'correct horse', METRICS_TOKEN: 'scrape-secret' },
  });
  const open = await startSystem({ roles: ['web'], database: admin.database });
  t.context = { admin, open };
});
test.after.always(async (t) => {
  await t.context.open?.stop();
  await t.context.admin?.stop();
});

test.serial('Bull Board is behind HTTP Basic and lists every queue', async (t) => {
  const { admin } = t.context;
  const anon = await admin.api('/admin/queues');
  t.is(anon.status, 401);
  t.regex(anon.headers.get('www-authenticate') ?? '', /^Basic realm=/);
  t.is((await admin.api('/admin/queues', { headers: { authorization: basic('ops', 'wrong') } })).status, 401);
  t.is(
    (await admin.api('/admin/queues', { headers: { authorization: basic('nobody', 'correct horse') } })).status,
    401,
  );
  t.is(
    (await admin.api('/admin/queues/api/queues', { headers: { authorization: basic('ops', 'wrong') } })).status,
    401,
  );

  const page = await admin.api('/admin/queues', { headers: { authorization: basic('ops', 'correct horse') } });
  t.is(page.status, 200);
  t.regex(page.headers.get('content-type') ?? '', /text\/html/);
  await page.text();

  const box = await admin.createMailbox();
  const board = () =>
    admin.json('/admin/queues/api/queues?activeQueue=inbound&status=waiting&page=1', {
      headers: { authorization: basic('ops', 'correct horse') },
    });
  const inbound = (body: any) =>
    body.queues.find((q: { name: string }) => q.name === 'inbound').counts.waiting as number;
  const before = await board();
  await admin.send({ to: box.address, subject: 'depth', text: 'waits: no worker in this system' });
  const api = await board();
  t.is(api.status, 200);
  const names = api.body.queues.map((q: { name: string }) => q.name).sort();
  t.deepEqual(
    names,
    admin.deps.queues
      .all()
      .map((q) => q.name)
      .sort(),
  );
  t.is(inbound(api.body), inbound(before.body) + 1);
});

test.serial('without ADMIN_USER/ADMIN_PASSWORD the board is not mounted', async (t) => {
  const r = await t.context.open.json('/admin/queues');
  t.is(r.status, 404);
  t.is(r.body.error.code, 'not_found');
  t.is((await t.context.open.api('/admin/queues/api/queues')).status, 404);
});

test.serial('/metrics needs the token when one is configured and reports queue depths and counters', async (t) => {
  const { admin } = t.context;
  t.is((await admin.api('/metrics')).status, 401);
  t.is((await admin.api('/metrics', { headers: { authorization: 'Bearer nope' } })).status, 401);
  const box = await admin.createMailbox();
  const before = await admin.api('/metrics', { token: 'scrape-secret' }).then((r) => r.text());
  const waitingBefore = Number(
    /mailwright_queue_jobs\{queue="inbound",state="waiting",role="test"\} (\d+)/.exec(before)?.[1],
  );
  await admin.send({ to: box.address, subject: 'count me', text: 'x' });
  const res = await admin.api('/metrics', { token: 'scrape-secret' });
  t.is(res.status, 200);
  t.regex(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  t.regex(text, /mailwright_queue_scrape_ok\{role="test"\} 1/);
  t.is(
    Number(/mailwright_queue_jobs\{queue="inbound",state="waiting",role="test"\} (\d+)/.exec(text)?.[1]),
    waitingBefore + 1,
  );
  t.regex(text, /mailwright_queue_jobs\{queue="maintenance",state="waiting",role="test"\} 0/);
  t.regex(text, /mailwright_queue_jobs\{queue="inbound-large",state="waiting",role="test"\} 0/);
  t.regex(text, /mailwright_messages_enqueued_total\{source="smtp",role="test"\} [1-9]/);
  t.regex(text, /mailwright_smtp_replies_total\{code="250",role="test"\} [1-9]/);
  t.regex(text, /mailwright_http_request_seconds_bucket\{.*route="\/api\/v1\/mailboxes"/);
  t.regex(text, /process_cpu_user_seconds_total/);
});

test.serial('/metrics is open when no token is configured', async (t) => {
  const r = await t.context.open.api('/metrics');
  t.is(r.status, 200);
  t.regex(await r.text(), /mailwright_queue_jobs\{queue="inbound"/);
});

test.serial('the metrics listener of the smtp and worker roles serves /metrics and /healthz', async (t) => {
  const { open } = t.context;
  t.is(await startMetricsServer(open.deps), undefined, 'METRICS_PORT unset: nothing listens');
  const server = await startMetricsServer(open.deps, { port: 0 });
  t.truthy(server);
  try {
    const m = await fetch(`http://127.0.0.1:${server!.port}/metrics`);
    t.is(m.status, 200);
    t.regex(await m.text(), /mailwright_smtp_sessions_total/);
    const h = await fetch(`http://127.0.0.1:${server!.port}/healthz`);
    t.deepEqual(await h.json(), { status: 'ok' });
    t.is((await fetch(`http://127.0.0.1:${server!.port}/nope`)).status, 404);
  } finally {
    await server!.close();
  }
});

test.serial(
  'a failure on the metrics listener is the JSON error of every edge (500 internal_error), logged',
  async (t) => {
    const { open } = t.context;
    const registry = new Registry();
    new Gauge({
      name: 'mailwright_test_broken',
      help: 'a collector that fails',
      registers: [registry],
      collect() {
        throw new Error('collector broke: secret detail');
      },
    });
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    const server = await startMetricsServer(
      { ...open.deps, log, metrics: { ...open.deps.metrics, registry } },
      { port: 0 },
    );
    try {
      const r = await fetch(`http://127.0.0.1:${server!.port}/metrics`);
      t.is(r.status, 500);
      t.regex(r.headers.get('content-type') ?? '', /application\/json/);
      t.deepEqual(await r.json(), { error: { code: 'internal_error', message: 'internal error' } });
      const failed = lines.map((l) => JSON.parse(l)).filter((l) => l.event === 'metrics.failed');
      t.is(failed.length, 1);
      t.is(failed[0].level, 50, 'an unexpected failure is logged at error level');
    } finally {
      await server!.close();
    }
  },
);
