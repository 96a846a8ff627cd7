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

// "=?utf-16be?B?2AA=?=" and "filename*=utf-16be''%D8%00%00a" decode to a lone high surrogate (U+D800), a
// JS string no UTF-8 or JSON consumer accepts: Postgres jsonb refuses "\ud800", encodeURIComponent throws
const LONE = '=?utf-16be?B?2AA=?=';

const part = (headers: string[], content: Buffer) => [
  '--b1',
  ...headers,
  'Content-Transfer-Encoding: base64',
  '',
  content.toString('base64'),
];

const mime = (to: string, head: string[], parts: string[][]) =>
  Buffer.from(
    [
      `From: ${LONE} <hostile@example.org>`,
      `To: ${LONE} <${to}>`,
      'MIME-Version: 1.0',
      ...head,
      'Content-Type: multipart/mixed; boundary="b1"',
      '',
      ...parts.flat(),
      '--b1--',
      '',
    ].join('\r\n'),
    'utf8',
  );

test('a message whose parsed strings hold lone surrogates is stored once, with U+FFFD in their place', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox();
  const raw = mime(
    box.address,
    [`Subject: hi ${LONE} there`, `Cc: ${LONE} <cc@example.org>`, `Reply-To: ${LONE} <r@example.org>`],
    [
      part(['Content-Type: text/plain; charset=utf-16be'], Buffer.from([0xd8, 0x00, 0x00, 0x61])),
      part(
        ['Content-Type: application/octet-stream', "Content-Disposition: attachment; filename*=utf-16be''%D8%00%00a"],
        Buffer.from([0, 1, 2, 255]),
      ),
    ],
  );
  t.regex((await RawSmtp.sendOnce(sys.smtpPort, 'hostile@example.org', [box.address], raw)).data, /^250 /);

  const [item] = await sys.waitForMessages(box.address, box.token, 1);
  t.like(item, { subject: 'hi \uFFFD there', has_attachments: true });
  const full = await sys.json(`/api/v1/mailboxes/${box.address}/messages/${item.id}`, { token: box.token });
  t.is(full.status, 200);
  t.like(full.body, {
    subject: 'hi \uFFFD there',
    from_name: '\uFFFD',
    to: [{ address: box.address, name: '\uFFFD' }],
    cc: [{ address: 'cc@example.org', name: '\uFFFD' }],
    reply_to: [{ address: 'r@example.org', name: '\uFFFD' }],
    parse_error: null,
  });
  t.like(full.body.attachments, [{ index: 0, filename: '\uFFFDa', size: 4 }]);
  t.true(JSON.stringify(full.body).isWellFormed());
});

test('attachment downloads are 200 with their bytes whatever the filename or content type says', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox();
  const bytes = [Buffer.from([0, 1, 2, 255]), Buffer.from('two'), Buffer.from('three'), Buffer.from('four')];
  const raw = mime(
    box.address,
    ['Subject: hostile attachments'],
    [
      part(['Content-Type: text/plain'], Buffer.from('body')),
      // a lone surrogate: encodeURIComponent threw "URI malformed", the download was a 500
      part(
        ['Content-Type: application/octet-stream', "Content-Disposition: attachment; filename*=utf-16be''%D8%00%00a"],
        bytes[0]!,
      ),
      // quote, CR LF, backslash, a control character, NUL, percent, apostrophe and parentheses
      part(
        [
          'Content-Type: application/octet-stream',
          "Content-Disposition: attachment; filename*=utf-8''a%22b%0D%0Ac%5C%01%00%25'()*.bin",
        ],
        bytes[1]!,
      ),
      // a media type Node refuses in a header (a character above U+00FF): ctx.type threw, the download was a 500
      part(['Content-Type: application/x-\u0100', 'Content-Disposition: attachment; filename="t.bin"'], bytes[2]!),
      part(['Content-Type: application/x-a\u0001b', 'Content-Disposition: attachment; filename="u.bin"'], bytes[3]!),
    ],
  );
  t.regex((await RawSmtp.sendOnce(sys.smtpPort, 'hostile@example.org', [box.address], raw)).data, /^250 /);
  const [item] = await sys.waitForMessages(box.address, box.token, 1);
  const full = (await sys.json(`/api/v1/mailboxes/${box.address}/messages/${item.id}`, { token: box.token })).body;
  t.is(full.attachments.length, 4);

  const download = async (n: number) => {
    const res = await sys.api(`/api/v1/mailboxes/${box.address}/messages/${item.id}/attachments/${n}`, {
      token: box.token,
    });
    return {
      status: res.status,
      type: res.headers.get('content-type'),
      disposition: res.headers.get('content-disposition'),
      body: Buffer.from(await res.arrayBuffer()),
    };
  };
  const first = await download(0);
  t.like(first, {
    status: 200,
    type: 'application/octet-stream',
    disposition: `attachment; filename="_a"; filename*=UTF-8''%EF%BF%BDa`,
  });
  t.deepEqual(first.body, bytes[0]);

  const second = await download(1);
  t.is(second.status, 200);
  t.deepEqual(second.body, bytes[1]);
  t.is(
    second.disposition,
    `attachment; filename="a_b__c____'()*.bin"; filename*=UTF-8''a%22b%0D%0Ac%5C%01%EF%BF%BD%25%27%28%29%2A.bin`,
  );

  for (const n of [2, 3]) {
    const r = await download(n);
    t.like(r, { status: 200, type: 'application/octet-stream' }, `attachment ${n}`);
    t.deepEqual(r.body, bytes[n]);
  }
});

test('a 100,000-character attachment filename downloads with a bounded Content-Disposition; the stored metadata keeps the whole name', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox();
  // RFC 2231 continuations, 1,000 characters a line; "😀" is 12 characters of ext-value, so a header with the
  // whole name would be about 600 KB (fetch, like many HTTP clients, refuses response headers over 16 KB)
  const name = `${'😀'.repeat(50_000)}.pdf`;
  const pieces = Array.from(
    { length: 50 },
    (_, i) => `filename*${i}*=${i === 0 ? "utf-8''" : ''}${'%F0%9F%98%80'.repeat(1_000)}`,
  );
  pieces.push('filename*50=".pdf"');
  const raw = mime(
    box.address,
    ['Subject: long filename'],
    [
      part(
        ['Content-Type: application/pdf', `Content-Disposition: attachment;\r\n ${pieces.join(';\r\n ')}`],
        Buffer.from('%PDF'),
      ),
    ],
  );
  t.regex((await RawSmtp.sendOnce(sys.smtpPort, 'hostile@example.org', [box.address], raw)).data, /^250 /);
  const [item] = await sys.waitForMessages(box.address, box.token, 1);
  const full = (await sys.json(`/api/v1/mailboxes/${box.address}/messages/${item.id}`, { token: box.token })).body;
  t.is(full.attachments[0].filename, name, 'the stored metadata is the name as parsed');

  const res = await sys.api(`/api/v1/mailboxes/${box.address}/messages/${item.id}/attachments/0`, { token: box.token });
  t.is(res.status, 200);
  t.deepEqual(Buffer.from(await res.arrayBuffer()), Buffer.from('%PDF'));
  const disposition = res.headers.get('content-disposition')!;
  const max = sys.config.api.attachmentFilenameMaxChars;
  t.is(decodeURIComponent(/filename\*=UTF-8''(.*)$/.exec(disposition)![1]!), `${'😀'.repeat(max - 4)}.pdf`);
  t.true(disposition.length < 4_000, `${disposition.length} characters`);
});
