import { PassThrough } from 'node:stream';
import anyTest, { type TestFn } from 'ava';
import { createLogger } from '../../src/core/log.js';
import { RawSmtp } from '../helpers/smtp-client.js';
import { startSystem, type System } from '../helpers/system.js';

// Issue 24 (5): a download reads only its attachment's bytes where the delivery recorded their place
// (messages.attachment_parts); a message stored without places, or a place that does not give the stored checksum,
// is re-parsed as before. The answers are the same either way: status, bytes and headers.
const test = anyTest as TestFn<{ sys: System; logs: string[] }>;

const captureLog = (logs: string[]) => {
  const sink = new PassThrough();
  sink.on('data', (d: Buffer) => logs.push(...d.toString().split('\n').filter(Boolean)));
  return createLogger({ log: { level: 'info', pretty: false } }, 'test', sink);
};

test.before(async (t) => {
  const logs: string[] = [];
  t.context = { logs, sys: await startSystem({ overrides: { log: captureLog(logs) } }) };
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

const crlf = (lines: string[]) => lines.join('\r\n');

const message = (to: string) =>
  Buffer.from(
    crlf([
      'From: a@example.org',
      `To: ${to}`,
      'Subject: parts',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="outer"',
      '',
      '--outer',
      'Content-Type: multipart/alternative; boundary="alt"',
      '',
      '--alt',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'plain',
      '--alt',
      'Content-Type: text/html; charset=utf-8',
      '',
      '<p>html</p>',
      '--alt--',
      '--outer',
      'Content-Type: text/plain; charset=iso-8859-1',
      'Content-Disposition: attachment; filename="caf\xe9.txt"',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      'caf=E9 cr=E8me=',
      ' br=FBl=E9e',
      '--outer',
      'Content-Type: image/png; name="dot.png"',
      'Content-Transfer-Encoding: base64',
      'Content-ID: <dot>',
      '',
      Buffer.from('89504e470d0a1a0a0000000d4948445200', 'hex').toString('base64'),
      '--outer',
      'Content-Type: application/octet-stream; name="bin.dat"',
      "Content-Disposition: attachment; filename*=utf-8''r%C3%A9sum%C3%A9.dat",
      'Content-Transfer-Encoding: 8bit',
      '',
      'eight \xff\xfe bit',
      '--outer--',
      '',
    ]),
    'latin1',
  );

interface Answer {
  status: number;
  headers: Record<string, string | null>;
  body: Buffer;
}
const download = async (
  sys: System,
  box: { address: string; token: string },
  id: string,
  n: number,
): Promise<Answer> => {
  const r = await sys.api(`/api/v1/mailboxes/${box.address}/messages/${id}/attachments/${n}`, { token: box.token });
  const pick = ['content-type', 'content-disposition', 'x-content-type-options'];
  return {
    status: r.status,
    headers: Object.fromEntries(pick.map((h) => [h, r.headers.get(h)])),
    body: Buffer.from(await r.arrayBuffer()),
  };
};

const deliver = async (sys: System) => {
  const box = await sys.createMailbox();
  const sent = await RawSmtp.sendOnce(sys.smtpPort, 'a@example.org', [box.address], message(box.address));
  if (!sent.data.startsWith('250')) throw new Error(sent.data);
  const [item] = await sys.waitForMessages(box.address, box.token, 1);
  return { box, id: item.id as string };
};

const places = async (sys: System, id: string) =>
  (await sys.deps.db('messages').where({ id }).first('attachment_parts')).attachment_parts as Array<{
    start: number;
    end: number;
    encoding: string;
    charset: string | null;
  }> | null;

test.serial('the delivery records each attachment’s place; downloads from it equal the re-parse’s', async (t) => {
  const { sys } = t.context;
  const { box, id } = await deliver(sys);
  const parts = await places(sys, id);
  t.is(parts?.length, 3);
  t.deepEqual(
    parts!.map((p) => [p.encoding, p.charset]),
    [
      ['quoted-printable', 'iso-8859-1'],
      ['base64', null],
      ['binary', null],
    ],
  );
  const direct = [await download(sys, box, id, 0), await download(sys, box, id, 1), await download(sys, box, id, 2)];
  t.deepEqual(direct[0]!.body, Buffer.from('caf\xe9 cr\xe8me br\xfbl\xe9e', 'latin1'));
  t.is(direct[0]!.headers['content-type'], 'text/plain; charset=iso-8859-1');
  t.deepEqual(direct[2]!.body, Buffer.from('eight \xff\xfe bit', 'latin1'));
  t.regex(direct[2]!.headers['content-disposition']!, /filename\*=UTF-8''r%C3%A9sum%C3%A9\.dat/);
  t.is((await download(sys, box, id, 3)).status, 404);

  // the same message as one stored before places were recorded: the old path, the same answers
  await sys.deps.db('messages').where({ id }).update({ attachment_parts: null });
  for (const n of [0, 1, 2]) t.deepEqual(await download(sys, box, id, n), direct[n], `attachment ${n}`);
});

test.serial('a place that does not give the stored checksum falls back to the re-parse (and is logged)', async (t) => {
  const { sys, logs } = t.context;
  const { box, id } = await deliver(sys);
  const right = await download(sys, box, id, 1);
  const parts = (await places(sys, id))!;
  parts[1] = { ...parts[1]!, start: parts[1]!.start + 4 };
  await sys.deps
    .db('messages')
    .where({ id })
    .update({ attachment_parts: JSON.stringify(parts) });
  t.deepEqual(await download(sys, box, id, 1), right);
  t.true(logs.some((l) => l.includes('"attachment.part_mismatch"') && l.includes(id)));
});
