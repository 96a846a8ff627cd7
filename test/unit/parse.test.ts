import test from 'ava';
import { loadConfig } from '../../src/core/config.js';
import { fallbackParse, parseRaw, splitHeaders } from '../../src/pipeline/parse.js';

const LIMITS = loadConfig({}).extract;

test('splitHeaders keeps order and duplicates, unfolds continuation lines', (t) => {
  t.deepEqual(splitHeaders('Received: a\r\n b\r\nReceived: c\r\nX-Empty:\r\nnot a header\r\nSubject: Hi: there'), [
    { name: 'received', value: 'a b' },
    { name: 'received', value: 'c' },
    { name: 'x-empty', value: '' },
    { name: 'subject', value: 'Hi: there' },
  ]);
});

test('fallbackParse keeps what the headers say and records why', (t) => {
  const p = fallbackParse(Buffer.from('From: "X" <X@Example.org>\r\nSubject: s\r\nMessage-ID: <m@x>\r\n\r\nbody'), 'parse failed: boom');
  t.is(p.fromAddress, 'x@example.org');
  t.is(p.subject, 's');
  t.is(p.messageIdHeader, '<m@x>');
  t.is(p.parseError, 'parse failed: boom');
  t.deepEqual(p.attachments, []);
});

test('parseRaw never throws and never returns U+0000 in a field', async (t) => {
  const p = await parseRaw(Buffer.from('Subject: a\u0000b\r\nFrom: \u0000 <n@x.org>\r\n\r\nx\u0000y\r\n', 'latin1'), 5_000, LIMITS);
  t.false(JSON.stringify(p).includes('\\u0000'));
  t.is(p.subject, 'a\uFFFDb');
});

test('parseRaw reads addresses from groups and decodes encoded words', async (t) => {
  const p = await parseRaw(Buffer.from('From: =?utf-8?Q?J=C3=BCrgen?= <j@x.org>\r\nTo: team: a@x.org, B <b@x.org>;\r\nSubject: =?utf-8?B?4pyTIGRvbmU=?=\r\n\r\nhi\r\n'), 5_000, LIMITS);
  t.is(p.fromName, 'Jürgen');
  t.deepEqual(p.to.map((a) => a.address), ['a@x.org', 'b@x.org']);
  t.is(p.subject, '✓ done');
  t.is(p.parseError, null);
});
