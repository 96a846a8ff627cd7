import anyTest, { type TestFn } from 'ava';
import { RawSmtp } from '../helpers/smtp-client.js';
import { startSystem, type System } from '../helpers/system.js';

// No worker in these systems: what the SMTP role enqueues stays waiting, so the board shows it.
const test = anyTest as TestFn<{ readOnly: System; actions: System }>;
const ADMIN = { ADMIN_USER: 'ops', ADMIN_PASSWORD: 'correct horse', WORKER_LARGE_MESSAGE_BYTES: '2048' };
const auth = { authorization: `Basic ${Buffer.from('ops:correct horse').toString('base64')}` };
const SECRET = 'RESET-CODE-839201';

test.before(async (t) => {
  const readOnly = await startSystem({ roles: ['web', 'smtp'], env: ADMIN });
  const actions = await startSystem({
    roles: ['web', 'smtp'],
    database: readOnly.database,
    env: { ...ADMIN, ADMIN_BOARD_ACTIONS: 'true' },
  });
  t.context = { readOnly, actions };
});
test.after.always(async (t) => {
  await t.context.actions?.stop();
  await t.context.readOnly?.stop();
});

interface BoardJob {
  id: string;
  data: any;
}
const jobsOf = async (sys: System, queue: string, status = 'waiting') => {
  const r = await sys.json(`/admin/queues/api/queues?activeQueue=${queue}&status=${status}&page=1`, { headers: auth });
  if (r.status !== 200) throw new Error(`board: ${r.status}`);
  return {
    body: r.body,
    text: JSON.stringify(r.body),
    jobs: r.body.queues.find((q: { name: string }) => q.name === queue).jobs as BoardJob[],
  };
};
const findJob = (jobs: BoardJob[], address: string) => jobs.find((j) => j.data?.envelope?.to?.includes(address));

test('job data on the board shows ids, sizes and the envelope, never the raw message (inbound, 7-bit and 8-bit)', async (t) => {
  const sys = t.context.readOnly;
  const box = await sys.createMailbox();
  const ascii = `From: a@example.org\r\nTo: ${box.address}\r\nSubject: reset\r\n\r\nYour code is ${SECRET}\r\n`;
  const eightBit = Buffer.from(
    `From: a@example.org\r\nTo: ${box.address}\r\nSubject: caf\u00e9\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nCaf\u00e9 code ${SECRET}-8\r\n`,
    'utf8',
  );
  t.regex((await RawSmtp.sendOnce(sys.smtpPort, 'a@example.org', [box.address], ascii)).data, /^250 /);
  t.regex((await RawSmtp.sendOnce(sys.smtpPort, 'b@example.org', [box.address], eightBit)).data, /^250 /);

  const { text, jobs } = await jobsOf(sys, 'inbound');
  t.false(text.includes(SECRET), 'no message content in the job list');
  t.false(text.includes(eightBit.toString('base64').slice(0, 40)), 'no base64 of the message either');
  t.notRegex(text, /rawAscii|rawBase64/);
  const mine = jobs.filter((j) => j.data?.envelope?.to?.includes(box.address));
  t.is(mine.length, 2);
  const seven = mine.find((j) => j.data.envelope.from === 'a@example.org')!;
  const eight = mine.find((j) => j.data.envelope.from === 'b@example.org')!;
  t.deepEqual(seven.data.raw, { bytes: Buffer.byteLength(ascii), encoding: 'ascii' });
  t.deepEqual(eight.data.raw, { bytes: eightBit.length, encoding: 'base64' });
  t.is(seven.data.source, 'smtp');
  t.is(seven.data.ingressId, seven.id);
  t.deepEqual(seven.data.envelope, { from: 'a@example.org', to: [box.address] });

  // one job on its own (the job page of the board)
  const one = await sys.json(`/admin/queues/api/queues/inbound/${seven.id}`, { headers: auth });
  t.is(one.status, 200);
  t.false(JSON.stringify(one.body).includes(SECRET));
  t.deepEqual(one.body.job.data.raw, seven.data.raw);
});

test('every queue gets the same view: inbound-large and maintenance', async (t) => {
  const sys = t.context.readOnly;
  const box = await sys.createMailbox();
  const large = `From: a@example.org\r\nTo: ${box.address}\r\nSubject: big\r\n\r\n${'x'.repeat(4000)}\r\nYour code is ${SECRET}\r\n`;
  t.regex((await RawSmtp.sendOnce(sys.smtpPort, 'a@example.org', [box.address], large)).data, /^250 /);
  const { text, jobs } = await jobsOf(sys, 'inbound-large');
  t.false(text.includes(SECRET));
  t.deepEqual(findJob(jobs, box.address)?.data.raw, { bytes: Buffer.byteLength(large), encoding: 'ascii' });
  // the mailbox's on-time expiry job: its data is a mailbox id, shown as it is
  const id = (await sys.deps.stores.mailboxes.findByAddress(box.address))!.id;
  const maintenance = await jobsOf(sys, 'maintenance', 'delayed');
  t.true(maintenance.jobs.some((j) => j.data?.mailboxId === id));
});

test('read-only by default: retry, clean, promote and every other change are refused, nothing changes', async (t) => {
  const sys = t.context.readOnly;
  const box = await sys.createMailbox();
  await RawSmtp.sendOnce(sys.smtpPort, 'a@example.org', [box.address], `Subject: x\r\n\r\n${SECRET}\r\n`);
  const before = await jobsOf(sys, 'inbound');
  t.true(before.body.queues.every((q: { readOnlyMode: boolean }) => q.readOnlyMode));
  const job = findJob(before.jobs, box.address)!;
  for (const path of [
    'inbound/retry/failed',
    'inbound/clean/waiting',
    'inbound/promote',
    `inbound/${job.id}/promote`,
    `inbound/${job.id}/clean`,
    'inbound/empty',
    'pause',
  ]) {
    const r = await sys.json(`/admin/queues/api/queues/${path}`, { method: 'PUT', headers: auth });
    t.is(r.status, 403, path);
    t.is(r.body.error.code, 'board_read_only', path);
    t.regex(r.body.error.message, /ADMIN_BOARD_ACTIONS=true/);
  }
  t.truthy(findJob((await jobsOf(sys, 'inbound')).jobs, box.address), 'the job is still waiting');
  // actions without credentials are refused before anything else
  t.is((await sys.api('/admin/queues/api/queues/inbound/retry/failed', { method: 'PUT' })).status, 401);
});

test('ADMIN_BOARD_ACTIONS=true allows retry, clean and promote, and nothing else', async (t) => {
  const sys = t.context.actions;
  const box = await sys.createMailbox();
  await RawSmtp.sendOnce(sys.smtpPort, 'a@example.org', [box.address], `Subject: x\r\n\r\n${SECRET}\r\n`);
  const listed = await jobsOf(sys, 'inbound');
  t.true(
    listed.body.queues.every(
      (q: { readOnlyMode: boolean; allowRetries: boolean }) => !q.readOnlyMode && q.allowRetries,
    ),
  );
  t.false(listed.text.includes(SECRET), 'the view is the same with actions enabled');
  for (const path of ['inbound/retry/failed', 'inbound/clean/completed', 'maintenance/promote']) {
    const r = await sys.api(`/admin/queues/api/queues/${path}`, { method: 'PUT', headers: auth });
    t.is(r.status, 200, path);
  }
  const job = findJob(listed.jobs, box.address)!;
  for (const [method, path] of [
    ['PUT', 'inbound/empty'],
    ['PUT', 'inbound/obliterate'],
    ['PATCH', `inbound/${job.id}/update-data`],
    ['POST', 'inbound/add'],
    ['PUT', 'pause'],
  ]) {
    const r = await sys.json(`/admin/queues/api/queues/${path}`, {
      method,
      headers: { ...auth, 'content-type': 'application/json' },
      body: '{}',
    });
    t.is(r.status, 403, path);
    t.is(r.body.error.code, 'board_action_not_allowed', path);
  }
  t.truthy(findJob((await jobsOf(sys, 'inbound')).jobs, box.address), 'the job is still waiting');
  // cleaning one waiting job is an action: it is removed
  const clean = await sys.api(`/admin/queues/api/queues/inbound/${job.id}/clean`, { method: 'PUT', headers: auth });
  t.is(clean.status, 204);
  t.falsy(findJob((await jobsOf(sys, 'inbound')).jobs, box.address));
});
