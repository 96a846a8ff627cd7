import anyTest, { type TestFn } from 'ava';
import { RawSmtp } from '../helpers/smtp-client.js';
import { startSystem, type System } from '../helpers/system.js';

const test = anyTest as TestFn<{ sys: System }>;
test.before(async (t) => {
  t.context.sys = await startSystem();
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

const part = (headers: string[], body: Buffer) =>
  Buffer.concat([Buffer.from(`--b\r\n${headers.join('\r\n')}\r\n\r\n`), body, Buffer.from('\r\n')]);

// Found by an SMTP/MIME audit (2026-12-02): every text attachment went out as "charset=utf-8" (Koa adds it)
test('a text attachment is served with its own charset and its bytes unchanged; none is added when the part has none', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox('?ttl_minutes=60');
  const raw = Buffer.concat([
    Buffer.from(
      'From: a@example.org\r\nSubject: charsets\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n',
    ),
    part(['Content-Type: text/plain; charset=us-ascii'], Buffer.from('see attached')),
    part(
      ['Content-Type: text/plain; charset=iso-8859-1', 'Content-Disposition: attachment; filename=latin.txt'],
      Buffer.from('caf\xe9', 'latin1'),
    ),
    part(
      [
        'Content-Type: text/csv; charset="utf-16le"',
        'Content-Transfer-Encoding: base64',
        'Content-Disposition: attachment; filename=wide.csv',
      ],
      Buffer.from(Buffer.from('a,b\n', 'utf16le').toString('base64')),
    ),
    part(
      ['Content-Type: text/plain', 'Content-Disposition: attachment; filename=plain.txt'],
      Buffer.from('no charset'),
    ),
    part(
      ['Content-Type: application/pdf', 'Content-Disposition: attachment; filename=doc.pdf'],
      Buffer.from('%PDF-1.4'),
    ),
    Buffer.from('--b--\r\n'),
  ]);
  const r = await RawSmtp.sendOnce(sys.smtpPort, 'a@example.org', [box.address], raw);
  t.regex(r.data, /^250 /);
  const [item] = await sys.waitForMessages(box.address, box.token, 1);
  const expected: Array<[string, Buffer]> = [
    ['text/plain; charset=iso-8859-1', Buffer.from('caf\xe9', 'latin1')],
    ['text/csv; charset=utf-16le', Buffer.from('a,b\n', 'utf16le')],
    ['text/plain', Buffer.from('no charset')],
    ['application/pdf', Buffer.from('%PDF-1.4')],
  ];
  for (const [n, [type, bytes]] of expected.entries()) {
    const res = await sys.api(`/api/v1/mailboxes/${box.address}/messages/${item.id}/attachments/${n}`, {
      token: box.token,
    });
    t.is(res.status, 200, `attachment ${n}`);
    t.is(res.headers.get('content-type'), type, `attachment ${n}`);
    t.deepEqual(Buffer.from(await res.arrayBuffer()), bytes, `attachment ${n}: the bytes of the message`);
  }
  // a client decoding by the response's charset gets the text right
  const latin = await sys.api(`/api/v1/mailboxes/${box.address}/messages/${item.id}/attachments/0`, {
    token: box.token,
  });
  t.is(
    new TextDecoder(/charset=([^;]+)/.exec(latin.headers.get('content-type')!)![1]).decode(await latin.arrayBuffer()),
    'café',
  );
});
