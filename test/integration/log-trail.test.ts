import anyTest, { type TestFn } from 'ava';
import { RawSmtp } from '../helpers/smtp-client.js';
import { envFor, spawnRole, type LogLine, type RoleProcess } from '../helpers/spawn-role.js';
import { startSystem, type System } from '../helpers/system.js';

// The real entrypoints log pino JSON to stdout; one message is followed by its ingress id from the
// SMTP reply to the worker's inbound.stored line, and an HTTP line carries the request id.
const test = anyTest as TestFn<{ sys: System; procs: RoleProcess[] }>;
test.before(async (t) => {
  t.context = { sys: await startSystem({ roles: [] }), procs: [] };
});
test.after.always(async (t) => {
  await Promise.all(t.context.procs.map((p) => p.stop()));
  await t.context.sys?.stop();
});

test('one message can be followed by ingressId from smtp.queued to inbound.stored; HTTP lines carry the request id', async (t) => {
  const env = envFor(t.context.sys.config);
  const web = spawnRole('web', { ...env, LOG_LEVEL: 'debug' });
  const smtp = spawnRole('smtp', env);
  const worker = spawnRole('worker', env);
  t.context.procs.push(web, smtp, worker);
  const [w, s] = await Promise.all([
    web.waitFor('web.listening'),
    smtp.waitFor('smtp.listening'),
    worker.waitFor('worker.started'),
  ]);
  const base = `http://127.0.0.1:${String(w.port)}`;

  const created = await fetch(`${base}/api/v1/mailboxes`, {
    method: 'POST',
    headers: { 'x-request-id': 'trail-req-1' },
  });
  t.is(created.status, 201);
  t.is(created.headers.get('x-request-id'), 'trail-req-1');
  const box = (await created.json()) as { address: string };
  const http = await web.waitFor('http.request', 5_000, (l) => l.requestId === 'trail-req-1');
  t.like(http, { role: 'web', method: 'POST', route: '/api/v1/mailboxes', status: 201 });
  await web.waitFor('mailbox.created');

  const secretBody = 'body-text-that-must-never-be-logged';
  const sent = await RawSmtp.sendOnce(
    Number(s.port),
    'a@example.org',
    [box.address],
    `Subject: trail\r\n\r\n${secretBody}\r\n`,
  );
  const ingressId = /queued as ([0-9A-Z]{26})/.exec(sent.data)?.[1];
  t.truthy(ingressId, sent.data);

  const queued = await smtp.waitFor('smtp.queued', 5_000, (l) => l.ingressId === ingressId);
  const stored = await worker.waitFor('inbound.stored', 15_000, (l) => l.ingressId === ingressId);
  t.is(queued.role, 'smtp');
  t.like(stored, { role: 'worker', component: 'pipeline', jobId: ingressId, recipient: box.address });
  t.truthy(stored.messageId);

  const all: LogLine[] = [...web.lines, ...smtp.lines, ...worker.lines];
  t.true(
    all.every((l) => typeof l.event === 'string' && typeof l.level === 'number' && typeof l.time === 'number'),
    'every line is JSON with an event name',
  );
  t.false(
    all.some((l) => JSON.stringify(l).includes(secretBody)),
    'no message body in the logs',
  );

  // SIGTERM every role: each drains and exits 0; the web port stops accepting
  for (const p of [web, smtp, worker]) p.signal('SIGTERM');
  const exits = await Promise.all([web, smtp, worker].map((p) => p.exited));
  t.deepEqual(
    exits.map((e) => e.code),
    [0, 0, 0],
  );
  for (const p of [web, smtp, worker]) t.truthy(p.lines.find((l) => l.event === 'shutdown.done'));
  await t.throwsAsync(fetch(`${base}/healthz`));
});
