import test from 'ava';
import { validateHeaderValue } from 'node:http';
import { attachmentContentType, contentDisposition } from '../../src/api/attachment-headers.js';
import { loadConfig } from '../../src/core/config.js';

const MAX = loadConfig({}).api.attachmentFilenameMaxChars;
const filenameStar = (header: string) => decodeURIComponent(/filename\*=UTF-8''(.*)$/.exec(header)![1]!);
const fallback = (header: string) => /filename="([^"]*)"/.exec(header)![1]!;

// every UTF-16 code unit alone (lone surrogates, controls, quotes included), between letters, and some pairs
const names = [
  ...Array.from({ length: 0x10000 }, (_, c) => `a${String.fromCharCode(c)}b`),
  '\ud800',
  '\udfff',
  '\udfff\ud800',
  '😀',
  'x\ud83d',
  '\r\n',
  '"',
  '\\',
  "'()*%",
  'rapport €.pdf',
  ' ',
];

test('Content-Disposition is total: a header Node accepts for any name, filename* decodes to the well-formed name', (t) => {
  for (const name of names) {
    const header = contentDisposition(name, MAX);
    t.notThrows(() => validateHeaderValue('Content-Disposition', header), JSON.stringify(name));
    if (filenameStar(header) !== name.toWellFormed()) t.fail(`filename* of ${JSON.stringify(name)}`);
    if (!/^[\x20-\x7e]*$/.test(fallback(header)) || /["\\%]/.test(fallback(header)))
      t.fail(`fallback of ${JSON.stringify(name)}`);
  }
  t.is(contentDisposition(null, MAX), 'attachment');
  t.is(contentDisposition('', MAX), 'attachment');
  t.is(
    contentDisposition('rapport €.pdf', MAX),
    `attachment; filename="rapport _.pdf"; filename*=UTF-8''rapport%20%E2%82%AC.pdf`,
  );
  t.is(
    contentDisposition('a"b\r\n😀\ud800.txt', MAX),
    `attachment; filename="a_b____.txt"; filename*=UTF-8''a%22b%0D%0A%F0%9F%98%80%EF%BF%BD.txt`,
  );
});

test('the media type is kept only when it is a well-formed type/subtype', (t) => {
  for (const ok of ['application/pdf', 'image/svg+xml', 'application/vnd.ms-excel', 'text/plain'])
    t.is(attachmentContentType(ok), ok);
  const bads: Array<string | false | null | undefined> = [
    'application/x-\u0100',
    'application/x-é',
    'application/x-a\u0001b',
    'a/b c',
    'text/plain\u0000',
    'text',
    '',
    false,
    null,
    undefined,
  ];
  for (const bad of bads) {
    t.is(attachmentContentType(bad), 'application/octet-stream', JSON.stringify(bad));
  }
});

test('a very long filename is cut to ATTACHMENT_FILENAME_MAX_CHARS code points in the header, keeping its extension', (t) => {
  t.is(MAX, 255);
  // 100,000 characters from a hostile MIME part: the header stays a few KB, not 100 KB
  const long = `${'a'.repeat(100_000)}.pdf`;
  const header = contentDisposition(long, MAX);
  t.notThrows(() => validateHeaderValue('Content-Disposition', header));
  t.is(filenameStar(header), `${'a'.repeat(251)}.pdf`);
  t.is(fallback(header), `${'a'.repeat(251)}.pdf`);
  t.true(header.length < 1_000, `${header.length} characters`);

  // code points, not UTF-16 units: a pair is never split, and every character may cost 12 bytes in filename*
  const emoji = `${'😀'.repeat(50_000)}.tar.gz`;
  const cut = filenameStar(contentDisposition(emoji, MAX));
  t.is(cut, `${'😀'.repeat(252)}.gz`);
  t.true(cut.isWellFormed());
  t.is([...cut].length, MAX);
  const worst = contentDisposition('😀'.repeat(50_000), MAX);
  t.is(filenameStar(worst), '😀'.repeat(MAX));
  t.true(worst.length <= 64 + MAX * 13, `${worst.length} characters`); // 4 UTF-8 bytes as %XX + one "_" per character
  // a lone surrogate counts as one character and comes out as U+FFFD, as before
  t.is(filenameStar(contentDisposition(`${'\ud800'.repeat(300)}.txt`, MAX)), `${'\ufffd'.repeat(251)}.txt`);
});

test('the extension is kept only when it is a real one: not the whole name, not longer than half the limit', (t) => {
  t.is(filenameStar(contentDisposition('abcdefghij.txt', 8)), 'abcd.txt');
  t.is(filenameStar(contentDisposition('abcdefghij.txt', 14)), 'abcdefghij.txt', 'at the limit: untouched');
  t.is(
    filenameStar(contentDisposition('abcdefghij.toolong', 8)),
    'abcdefgh',
    'an extension over half the limit is cut like the rest',
  );
  t.is(filenameStar(contentDisposition('.htaccess-and-more', 8)), '.htacces', 'a leading dot is not an extension');
  t.is(filenameStar(contentDisposition('abcdefghij.', 8)), 'abcdefgh', 'a trailing dot is not an extension');
  t.is(filenameStar(contentDisposition('x'.repeat(300), 1)), 'x');
  t.is(contentDisposition('short.pdf', MAX), contentDisposition('short.pdf', 9));
  // the cut falls after a high surrogate followed by every UTF-16 code unit: a pair stays whole, a lone
  // surrogate is one character (U+FFFD in filename*), and the header is always one Node accepts
  for (let c = 0; c < 0x10000; c += 1) {
    const unit = String.fromCharCode(c);
    const header = contentDisposition(`a\ud83d${unit}bcd.e`, 4);
    t.notThrows(() => validateHeaderValue('Content-Disposition', header));
    const want = c >= 0xdc00 && c <= 0xdfff ? `a\ud83d${unit}.e` : 'a\ufffd.e';
    if (filenameStar(header) !== want) t.fail(`code unit ${c.toString(16)}: ${JSON.stringify(filenameStar(header))}`);
  }
});

test('ATTACHMENT_FILENAME_MAX_CHARS is configuration (at least 1)', (t) => {
  t.is(loadConfig({ ATTACHMENT_FILENAME_MAX_CHARS: '40' }).api.attachmentFilenameMaxChars, 40);
  t.throws(() => loadConfig({ ATTACHMENT_FILENAME_MAX_CHARS: '0' }), { message: /ATTACHMENT_FILENAME_MAX_CHARS/ });
});

test("the part's charset is added only when it is a well-formed token, and never to application/octet-stream", (t) => {
  t.is(attachmentContentType('text/plain', 'iso-8859-1'), 'text/plain; charset=iso-8859-1');
  t.is(attachmentContentType('text/plain', null), 'text/plain');
  for (const bad of ['utf-8; x=y', 'a b', '', 'x'.repeat(65), 'caf\u00e9', 'u\r\nX-Injected: 1'])
    t.is(attachmentContentType('text/plain', bad), 'text/plain', JSON.stringify(bad));
  t.is(attachmentContentType('not a type', 'utf-8'), 'application/octet-stream');
});
