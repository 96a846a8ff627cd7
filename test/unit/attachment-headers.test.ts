import test from 'ava';
import { validateHeaderValue } from 'node:http';
import { attachmentContentType, contentDisposition } from '../../src/api/attachment-headers.js';

const filenameStar = (header: string) => decodeURIComponent(/filename\*=UTF-8''(.*)$/.exec(header)![1]!);
const fallback = (header: string) => /filename="([^"]*)"/.exec(header)![1]!;

// every UTF-16 code unit alone (lone surrogates, controls, quotes included), between letters, and some pairs
const names = [
  ...Array.from({ length: 0x10000 }, (_, c) => `a${String.fromCharCode(c)}b`),
  '\ud800', '\udfff', '\udfff\ud800', '😀', 'x\ud83d', '\r\n', '"', '\\', "'()*%", 'rapport €.pdf', ' ',
];

test('Content-Disposition is total: a header Node accepts for any name, filename* decodes to the well-formed name', (t) => {
  for (const name of names) {
    const header = contentDisposition(name);
    t.notThrows(() => validateHeaderValue('Content-Disposition', header), JSON.stringify(name));
    if (filenameStar(header) !== name.toWellFormed()) t.fail(`filename* of ${JSON.stringify(name)}`);
    if (!/^[\x20-\x7e]*$/.test(fallback(header)) || /["\\%]/.test(fallback(header))) t.fail(`fallback of ${JSON.stringify(name)}`);
  }
  t.is(contentDisposition(null), 'attachment');
  t.is(contentDisposition(''), 'attachment');
  t.is(contentDisposition('rapport €.pdf'), `attachment; filename="rapport _.pdf"; filename*=UTF-8''rapport%20%E2%82%AC.pdf`);
  t.is(contentDisposition('a"b\r\n😀\ud800.txt'), `attachment; filename="a_b____.txt"; filename*=UTF-8''a%22b%0D%0A%F0%9F%98%80%EF%BF%BD.txt`);
});

test('the media type is kept only when it is a well-formed type/subtype', (t) => {
  for (const ok of ['application/pdf', 'image/svg+xml', 'application/vnd.ms-excel', 'text/plain']) t.is(attachmentContentType(ok), ok);
  const bads: Array<string | false | null | undefined> = ['application/x-\u0100', 'application/x-é', 'application/x-a\u0001b', 'a/b c', 'text/plain\u0000', 'text', '', false, null, undefined];
  for (const bad of bads) {
    t.is(attachmentContentType(bad), 'application/octet-stream', JSON.stringify(bad));
  }
});
