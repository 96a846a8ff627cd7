import { execFile } from 'node:child_process';
import anyTest, { type TestFn } from 'ava';
import { ulid } from 'ulid';
import type { Config } from '../../src/core/config.js';
import type { ParseRetry } from '../../src/pipeline/parse-retry.js';
import { createInboundProcessor } from '../../src/pipeline/processor.js';
import type { InboundJob } from '../../src/queue/payloads.js';
import { startSystem, type System } from '../helpers/system.js';

// Issue 24 (1): whether mail is readable must not depend on load. A parse that ran out of PARSE_TIMEOUT_MS is
// retried at low concurrency before it is kept as a failure; a failure of the parser itself is not retried; a
// stored failure can be re-parsed later with `npm run cli -- messages:reparse`.
const test = anyTest as TestFn<{ sys: System }>;

test.before(async (t) => {
  // a parse limit no multipart message meets: every first attempt times out; the retry has the default limit
  t.context.sys = await startSystem({ env: { PARSE_TIMEOUT_MS: '1', PARSE_RETRY_DELAY_MS: '100' } });
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

const content = (i: number) => Buffer.from(`attachment number ${i} `.repeat(20 + i));

/** A multipart message: a text part and `count` base64 attachments (mailparser, never the one-part fast path). */
const withAttachments = (to: string, count: number, subject = 'many parts') => {
  const lines = [
    'From: a@example.org',
    `To: ${to}`,
    `Subject: ${subject}`,
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary=b',
    '',
    '--b',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'the body text, code 482913',
  ];
  for (let i = 0; i < count; i++) {
    const body = content(i).toString('base64').replace(/.{76}/g, '$&\r\n');
    lines.push(
      '--b',
      'Content-Type: application/octet-stream',
      'Content-Transfer-Encoding: base64',
      `Content-Disposition: attachment; filename=a${i}.bin`,
      '',
      body,
    );
  }
  lines.push('--b--', '');
  return lines.join('\r\n');
};

/** `depth` nested multiparts: mailparser refuses it ("Max allowed child nodes exceeded"), however fast it runs. */
const tooDeep = (to: string, depth: number) => {
  const lines = ['From: a@example.org', `To: ${to}`, 'Subject: deep', 'MIME-Version: 1.0'];
  for (let i = 0; i < depth; i++) lines.push(`Content-Type: multipart/mixed; boundary=b${i}`, '', `--b${i}`);
  lines.push('Content-Type: text/plain', '', 'x');
  for (let i = depth - 1; i >= 0; i--) lines.push(`--b${i}--`);
  return lines.join('\r\n') + '\r\n';
};

const jobOf = (to: string[], raw: string, extra: Partial<InboundJob> = {}) => {
  const ingressId = ulid();
  const data: InboundJob = {
    v: 1,
    ingressId,
    source: 'smtp',
    receivedAt: new Date().toISOString(),
    envelope: { from: 'a@example.org', to },
    rawBase64: Buffer.from(raw).toString('base64'),
    ...extra,
  };
  return { id: ingressId, data };
};

/** A ParseRetry that keeps what it is handed (the real one adds a BullMQ job; its queue is tested end to end below). */
const collectingRetry = () => {
  const deferred: Array<{ job: InboundJob; recipients: string[] }> = [];
  const retry: ParseRetry = {
    defer: (job, recipients) => {
      deferred.push({ job, recipients });
      return Promise.resolve();
    },
  };
  return { retry, deferred };
};

const withWorker = (config: Config, worker: Partial<Config['worker']>): Config => ({
  ...config,
  worker: { ...config.worker, ...worker },
});

const stored = (sys: System, mailboxAddress: string) =>
  sys.deps
    .db('messages')
    .join('mailboxes', 'mailboxes.id', 'messages.mailbox_id')
    .where('mailboxes.address', mailboxAddress)
    .select('messages.id', 'parse_error', 'text_body', 'has_attachments', 'attachments', 'codes');

const retries = async (sys: System) => (await sys.deps.metrics.parseRetries.get()).values[0]?.value ?? 0;

test.serial('a parse that timed out under the first limit is retried and the message is stored readable', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox();
  const before = await retries(sys);
  const raw = withAttachments(box.address, 200);
  await sys.send({ envelope: { from: 'a@example.org', to: [box.address] }, raw });
  const [item] = await sys.waitForMessages(box.address, box.token, 1, 30_000);
  const full = (await sys.json(`/api/v1/mailboxes/${box.address}/messages/${item.id}`, { token: box.token })).body;
  t.is(full.parse_error, null, 'not stored as "parser gave up after 1 ms"');
  t.is(full.text.trim(), 'the body text, code 482913');
  t.is(full.attachments.length, 200);
  t.is(await retries(sys), before + 1);
  const r = await sys.api(`/api/v1/mailboxes/${box.address}/messages/${item.id}/attachments/7`, { token: box.token });
  t.is(r.status, 200);
  t.deepEqual(Buffer.from(await r.arrayBuffer()), content(7));
});

test.serial('the first attempt hands the recipients left to the retry and stores nothing', async (t) => {
  const { sys } = t.context;
  const [a, b] = [await sys.createMailbox(), await sys.createMailbox()];
  const { retry, deferred } = collectingRetry();
  const run = createInboundProcessor({
    ...sys.deps,
    config: withWorker(sys.config, { parseTimeoutMs: 1 }),
    parseRetry: retry,
  });
  const nobody = `nobody@${sys.config.mail.domains[0]}`;
  const job = jobOf([nobody, a.address, b.address], withAttachments(a.address, 50));
  const outcomes = await run(job);
  t.true(
    'dropped' in outcomes[0]! && outcomes[0].recipient === nobody,
    'a recipient dropped before the parse stays dropped',
  );
  t.deepEqual(outcomes.slice(1), [
    { recipient: a.address, deferred: 'parse_timeout' },
    { recipient: b.address, deferred: 'parse_timeout' },
  ]);
  t.is(deferred.length, 1);
  t.is(deferred[0]!.job.ingressId, job.data.ingressId);
  t.deepEqual(deferred[0]!.recipients, [a.address, b.address]);
  t.is((await stored(sys, a.address)).length + (await stored(sys, b.address)).length, 0);
});

test.serial('the retry keeps a second timeout as the parse failure; a parser error is never retried', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox();
  const { retry, deferred } = collectingRetry();
  const config = withWorker(sys.config, { parseTimeoutMs: 1, parseRetry: { timeoutMs: 1, delayMs: 0 } });
  const run = createInboundProcessor({ ...sys.deps, config, parseRetry: retry });
  await run(jobOf([box.address], withAttachments(box.address, 50), { parseAttempt: 2 }));
  const [kept] = await stored(sys, box.address);
  t.regex(kept.parse_error, /parser gave up after 1 ms/);
  t.is(kept.text_body, null);

  const deep = await sys.createMailbox();
  const runDefault = createInboundProcessor({
    ...sys.deps,
    config: withWorker(sys.config, { parseTimeoutMs: 20_000 }),
    parseRetry: retry,
  });
  await runDefault(jobOf([deep.address], tooDeep(deep.address, 3000)));
  const [failed] = await stored(sys, deep.address);
  t.regex(failed.parse_error, /^parse failed: /);
  t.notRegex(failed.parse_error, /gave up/);
  t.is(deferred.length, 0, 'neither was handed to the retry');
});

const cli = (sys: System, args: string[]) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/bin/cli.ts', 'messages:reparse', ...args],
      { env: { ...process.env, DATABASE_URL: sys.database.url } },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });

test.serial(
  'messages:reparse restores a stored parse failure: text, codes, attachments and their downloads',
  async (t) => {
    const { sys } = t.context;
    const box = await sys.createMailbox();
    const other = await sys.createMailbox();
    // stored as a failure the way the old code stored it: a timeout, no retry
    const run = createInboundProcessor({ ...sys.deps, config: withWorker(sys.config, { parseTimeoutMs: 1 }) });
    await run(jobOf([box.address], withAttachments(box.address, 30)));
    await run(jobOf([other.address], withAttachments(other.address, 30)));
    const [before] = await stored(sys, box.address);
    t.regex(before.parse_error, /gave up after 1 ms/);
    t.is(
      (await sys.api(`/api/v1/mailboxes/${box.address}/messages/${before.id}/attachments/3`, { token: box.token }))
        .status,
      404,
    );

    const bad = await cli(sys, ['--since', 'yesterday-ish']);
    t.is(bad.code, 2);
    t.regex(bad.stderr, /--since "yesterday-ish" is not an ISO 8601 date or time/);

    const done = await cli(sys, [
      '--mailbox',
      box.address.toUpperCase(),
      '--since',
      new Date(Date.now() - 3_600_000).toISOString(),
    ]);
    t.is(done.code, 0, done.stderr);
    t.deepEqual(JSON.parse(done.stdout.trim().split('\n').pop()!), {
      scanned: 1,
      reparsed: 1,
      still_failing: 0,
      failed: 0,
    });

    const [after] = await stored(sys, box.address);
    t.is(after.parse_error, null);
    t.is(after.text_body.trim(), 'the body text, code 482913');
    t.true(after.has_attachments);
    t.is(after.attachments.length, 30);
    t.true(after.codes.some((c: { code: string }) => c.code === '482913'));
    const r = await sys.api(`/api/v1/mailboxes/${box.address}/messages/${after.id}/attachments/3`, {
      token: box.token,
    });
    t.is(r.status, 200);
    t.deepEqual(Buffer.from(await r.arrayBuffer()), content(3));
    const [untouched] = await stored(sys, other.address);
    t.regex(untouched.parse_error, /gave up/, '--mailbox limits the run to that mailbox');

    const again = await cli(sys, ['--mailbox', box.address]);
    t.deepEqual(JSON.parse(again.stdout.trim()), { scanned: 0, reparsed: 0, still_failing: 0, failed: 0 });
  },
);
