import test from 'ava';
import { blankLine, headerBlock } from '../../../src/extract/headers.js';

// headerBlock finds the end of the headers on the bytes; it must find what the regular expression it replaces
// found on the whole message as latin1 text.
const viaRegex = (bytes: Buffer) => bytes.toString('latin1').search(/\r?\n\r?\n/);

test('blankLine finds where /\\r?\\n\\r?\\n/ first matches, on every string of CR, LF and x up to 7 long', (t) => {
  const alphabet = ['\r', '\n', 'x'];
  let checked = 0;
  const each = (s: string) => {
    const b = Buffer.from(s, 'latin1');
    t.is(blankLine(b), viaRegex(b), JSON.stringify(s));
    checked++;
    if (s.length < 7) for (const c of alphabet) each(s + c);
  };
  each('');
  t.is(checked, (3 ** 8 - 1) / 2);
});

test('headerBlock: the header block as text, UTF-8 when it is, latin1 otherwise, cut at maxBytes', (t) => {
  const raw = Buffer.concat([
    Buffer.from('Subject: caf\u00e9\r\nFrom: a@b\r\n\r\nbody\r\n\r\nmore', 'utf8'),
    Buffer.from([0xe9]),
  ]);
  t.is(headerBlock(raw, 1024), 'Subject: caf\u00e9\r\nFrom: a@b');
  t.is(headerBlock(Buffer.from('Subject: caf\u00e9\n\nbody', 'latin1'), 1024), 'Subject: caf\u00e9');
  t.is(headerBlock(Buffer.from('Subject: x\r\nTo: y\r\n', 'latin1'), 1024), 'Subject: x\r\nTo: y\r\n');
  t.is(headerBlock(Buffer.from('Subject: x\r\nTo: y\r\n\r\nbody', 'latin1'), 12), 'Subject: x\r\n');
});
