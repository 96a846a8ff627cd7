import test from 'ava';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { loadConfig } from '../../src/core/config.js';
import { extractAttachment, parseRaw } from '../../src/pipeline/parse.js';
import { decodePart, partChecksum } from '../../src/pipeline/part-locations.js';

// Issue 24 (5): an attachment download decodes its own bytes (the place the delivery recorded) instead of
// re-parsing the message. Over a corpus of encodings, nestings and charsets, that gives exactly what the re-parse
// (the old path, extractAttachment) gives: the same bytes, filename, media type and charset.
const { extract: LIMITS, parse: PARSE } = loadConfig({});

const build = (mail: Record<string, unknown>) => new MailComposer(mail).compile().build();
const crlf = (lines: string[]) => Buffer.from(lines.join('\r\n'), 'latin1');
const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64').replace(/.{76}/g, '$&\r\n');
const png = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex');

/** name -> raw message; `unlocated` lists the ones where recording nothing (the old path) is the expected outcome */
const corpus = async (): Promise<Array<[string, Buffer]>> => [
  [
    'nodemailer: text, html, mixed attachments',
    await build({
      from: 'a@example.org',
      to: 'b@example.org',
      subject: 'files',
      text: 'plain',
      html: '<p>html <img src="cid:logo@x"></p>',
      attachments: [
        { filename: 'a.txt', content: 'first file\r\nsecond line é', contentType: 'text/plain; charset=utf-8' },
        { filename: 'logo.png', content: png, contentType: 'image/png', cid: 'logo@x' },
        { filename: 'data.bin', content: Buffer.alloc(5000, 0xfe) },
        { filename: 'qp.txt', content: 'a=b '.repeat(100) + '\u00e9', contentTransferEncoding: 'quoted-printable' },
        { filename: '7bit.txt', content: 'seven bit\r\n', contentTransferEncoding: '7bit' },
        { filename: 'résumé 😀.pdf', content: '%PDF-1.4 fake' },
        { filename: 'cal.ics', content: 'BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n', contentType: 'text/calendar' },
        { filename: 'empty.bin', content: Buffer.alloc(0) },
      ],
    }),
  ],
  [
    'nodemailer: a message attached as message/rfc822',
    await build({
      from: 'a@example.org',
      to: 'b@example.org',
      subject: 'forward',
      text: 'see the attached message',
      attachments: [
        {
          filename: 'inner.eml',
          contentType: 'message/rfc822',
          content: await build({
            from: 'c@example.org',
            subject: 'inner',
            text: 'inner text',
            attachments: [{ filename: 'inner.bin', content: Buffer.from([1, 2, 3]) }],
          }),
        },
      ],
    }),
  ],
  [
    'top-level single part attachment',
    crlf([
      'From: a@example.org',
      'Subject: one part',
      'Content-Type: application/pdf; name="only.pdf"',
      'Content-Transfer-Encoding: base64',
      '',
      b64('%PDF only part'),
      '',
    ]),
  ],
  [
    'nested multiparts: mixed > alternative + related > image, latin-1 text attachment',
    crlf([
      'From: a@example.org',
      'Subject: nested',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="outer"',
      '',
      'preamble text',
      '--outer',
      'Content-Type: multipart/alternative; boundary="alt"',
      '',
      '--alt',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'plain',
      '--alt',
      'Content-Type: multipart/related; boundary="rel"',
      '',
      '--rel',
      'Content-Type: text/html; charset=utf-8',
      '',
      '<img src="cid:i1">',
      '--rel',
      'Content-Type: image/png',
      'Content-ID: <i1>',
      'Content-Transfer-Encoding: base64',
      '',
      b64(png),
      '--rel--',
      '--alt--',
      '--outer',
      'Content-Type: text/plain; charset=iso-8859-1',
      'Content-Disposition: attachment; filename="latin.txt"',
      'Content-Transfer-Encoding: 8bit',
      '',
      'caf\xe9 cr\xe8me',
      '--outer',
      'Content-Type: message/delivery-status',
      'Content-Disposition: attachment; filename="status.txt"',
      '',
      'Reporting-MTA: dns; mx.example.org',
      '--outer',
      'Content-Type: application/octet-stream; name=x.zip',
      'Content-Transfer-Encoding: BASE64 (a comment)',
      '',
      b64('zip bytes here'),
      '--outer--',
      'epilogue',
      '',
    ]),
  ],
  [
    'LF line endings, quoted-printable with soft breaks and bad escapes, base64 with junk and no padding',
    Buffer.from(
      [
        'From: a@example.org',
        'Subject: lf',
        'Content-Type: multipart/mixed; boundary=lf',
        '',
        '--lf',
        'Content-Type: text/plain',
        '',
        'body',
        '--lf',
        'Content-Type: application/x-thing',
        'Content-Disposition: attachment; filename=qp.dat',
        'Content-Transfer-Encoding: quoted-printable',
        '',
        'soft=\nbreak =3D equals =ZZ bad =\n=C3=A9 end',
        '--lf',
        'Content-Type: application/x-other',
        'Content-Disposition: attachment; filename=junk.dat',
        'Content-Transfer-Encoding: base64',
        '',
        'aGVsbG8g!!d29y\nbGQ',
        '--lf--',
        '',
      ].join('\n'),
      'latin1',
    ),
  ],
  [
    'missing final boundary, part without Content-Type, inline disposition on a binary',
    crlf([
      'From: a@example.org',
      'Subject: truncated',
      'Content-Type: multipart/mixed; boundary=t',
      '',
      '--t',
      '',
      'a part with no headers at all',
      '--t',
      'Content-Type: image/gif',
      'Content-Disposition: inline; filename=i.gif',
      'Content-Transfer-Encoding: base64',
      '',
      b64('GIF89a....'),
      '--t',
      'Content-Type: text/plain; charset="windows-1252"',
      'Content-Disposition: attachment',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      'price =80 5',
    ]),
  ],
  [
    'x-uuencode part and an unknown disposition',
    crlf([
      'From: a@example.org',
      'Subject: uu',
      'Content-Type: multipart/mixed; boundary=u',
      '',
      '--u',
      'Content-Type: application/octet-stream; name=file.txt',
      'Content-Transfer-Encoding: x-uuencode',
      '',
      'begin 644 file.txt',
      '#86)C',
      '`',
      'end',
      '--u',
      'Content-Type: application/json',
      'Content-Disposition: form-data; name=x',
      '',
      '{"a":1}',
      '--u--',
      '',
    ]),
  ],
  [
    '990 parts (mailsplit allows 1,000 nodes)',
    crlf([
      'From: a@example.org',
      'Subject: thousand',
      'Content-Type: multipart/mixed; boundary=k',
      '',
      ...Array.from({ length: 990 }, (_, i) => [
        '--k',
        'Content-Type: application/octet-stream',
        'Content-Transfer-Encoding: base64',
        `Content-Disposition: attachment; filename=p${i}.bin`,
        '',
        b64(`part ${i} `.repeat(8)),
      ]).flat(),
      '--k--',
      '',
    ]),
  ],
];

test.serial(
  'each attachment decoded from its recorded place equals the re-parse: bytes, filename, type, charset',
  async (t) => {
    let checked = 0;
    for (const [name, raw] of await corpus()) {
      const parsed = await parseRaw(raw, 60_000, LIMITS, PARSE);
      t.is(parsed.parseError, null, name);
      t.true(parsed.attachments.length > 0, `${name}: has attachments`);
      const parts = parsed.attachmentParts;
      t.truthy(parts, `${name}: places recorded`);
      if (!parts) continue;
      t.is(parts.length, parsed.attachments.length, name);
      // the old path re-parses the message per attachment: on the 990-part one, a sample (ends and middle)
      const n = parsed.attachments.length;
      const indexes = n > 50 ? [0, 1, 2, 494, 495, n - 2, n - 1] : parsed.attachments.map((_, i) => i);
      for (const i of indexes) {
        const meta = parsed.attachments[i]!;
        const old = await extractAttachment(raw, i, 60_000);
        const part = parts[i]!;
        const content = await decodePart(raw.subarray(part.start, part.end), part.encoding);
        t.deepEqual(content, old!.content, `${name}: attachment ${i} bytes`);
        t.is(meta.checksum, partChecksum(content), `${name}: attachment ${i} checksum`);
        t.is(part.charset, old!.charset, `${name}: attachment ${i} charset`);
        t.is(meta.filename, old!.filename, `${name}: attachment ${i} filename`);
        t.is(meta.contentType, old!.contentType, `${name}: attachment ${i} type`);
        checked++;
      }
    }
    t.true(checked >= 25, `${checked} attachments compared`);
  },
);

test('a message without attachments records no places', async (t) => {
  const raw = await build({ from: 'a@example.org', subject: 's', text: 't', html: '<p>h</p>' });
  t.is((await parseRaw(raw, 60_000, LIMITS, PARSE)).attachmentParts, null);
});
