import test from 'ava';
import { parseSimpleText, SIMPLE_MAX_HEADER_BYTES } from '../../src/pipeline/parse-simple.js';
import {
  build,
  emlCorpus,
  generatedDifferential,
  mutatedDifferential,
  pick,
  rng,
  viaDefault,
  viaMailparser,
} from '../helpers/parse-differential.js';

// The fast path for one ASCII text/plain part must give exactly what mailparser gives, field by field.

const FROM = [
  'a@x.test',
  'Alice <alice@x.test>',
  '"Doe, John" <john@x.test>',
  'bob@x.test (Bob)',
  '=?utf-8?Q?J=C3=B6rg?= <j@x.test>',
  'Undisclosed recipients:;',
  '<>',
  'weird <<a@x.test>>',
  'x@xn--mnchen-3ya.test',
  '  spaced   <s@x.test>  ',
];
const TO = [
  'box@mw.test',
  'A <a@mw.test>, B <b@mw.test>',
  'team: one@mw.test, two@mw.test;',
  'box@mw.test,',
  '"quoted \\" name" <q@mw.test>',
];
const SUBJECT = [
  'hello',
  '  padded  subject  ',
  'Your code is 123456',
  '=?utf-8?B?w6l0w6k=?= encoded',
  '=?iso-8859-1?Q?caf=E9?=',
  'tabs\tinside',
  'folded\r\n continuation line',
  'a:b:c',
  '',
];
// an unreadable Date (even an empty one) becomes the time of parsing in mailparser, so two parses never agree:
// those messages are left to mailparser (last test) and kept out of the comparisons
const DATE = [
  'Mon, 23 Nov 2026 10:00:00 +0000',
  'Mon, 23 Nov 2026 10:00:00 GMT',
  '23 Nov 2026 10:00 -0500',
  'Tue, 1 Dec 2026 08:00:00 +0100 (CET)',
];
const MESSAGE_ID = ['<id1@x.test>', 'id2@x.test', '<id3@x.test', '  <id4@x.test>  ', ''];
const CONTENT_TYPE = [
  undefined,
  'text/plain',
  'TEXT/PLAIN; charset=US-ASCII',
  'text/plain; charset="utf-8"',
  'text/plain; charset=iso-8859-1',
  'text/plain; format=flowed',
  'text/plain; charset=utf-8; name=a.txt',
  'text/html; charset=utf-8',
  'text/plain (comment); charset=utf-8',
];
const CTE = [undefined, '7bit', '8BIT', 'binary', 'quoted-printable', 'base64'];
const BODY = [
  'line one\r\nline two\r\n',
  'no trailing newline',
  '',
  '\r\n',
  'Your code: 482913\r\nhttps://app.test/verify?t=abc&u=1\r\n',
  'lone\rcarriage\r\n',
  'unix\nlines\n',
  'tab\tand  spaces  \r\n\r\n\r\n',
  'ctrl\u0001\u0007chars\r\n',
  'dots\r\n.\r\n..\r\n',
];

function generated(seed: number): Buffer {
  const r = rng(seed);
  const lines: string[] = [];
  const add = (name: string, value: string | undefined) => {
    if (value !== undefined && r() > 0.1) lines.push(`${name}: ${value}`);
  };
  add('From', pick(r, FROM));
  add('To', pick(r, TO));
  if (r() < 0.3) add('Cc', pick(r, TO));
  if (r() < 0.2) add('Reply-To', pick(r, FROM));
  add('Subject', pick(r, SUBJECT));
  if (r() < 0.1) add('Subject', 'a second subject');
  add('Date', pick(r, DATE));
  add('Message-ID', pick(r, MESSAGE_ID));
  if (r() < 0.6) add('MIME-Version', '1.0');
  add('Content-Type', pick(r, CONTENT_TYPE));
  add('Content-Transfer-Encoding', pick(r, CTE));
  if (r() < 0.05) add('Content-Disposition', 'inline');
  if (r() < 0.2) lines.push('X-Long: ' + 'v'.repeat(200) + '\r\n\t' + 'w'.repeat(50));
  if (r() < 0.1) lines.reverse();
  let head = lines.join('\r\n');
  if (r() < 0.03) head = head.replace('\r\n', '\n');
  const body = pick(r, BODY) + (r() < 0.1 ? 'caf\u00e9 8-bit\r\n' : '');
  return Buffer.from(`${head}\r\n\r\n${body}`, 'latin1');
}

test('differential: 1,500 generated messages give the same parsed message with and without the fast path', async (t) => {
  const fast = await generatedDifferential(t, { generated, takes: parseSimpleText, shown: 300 });
  t.true(fast > 300, `the fast path must actually be exercised (taken ${fast} times)`);
  t.true(fast < 1_400, 'and refused for the variants it does not cover');
});

test('differential: mutated messages (fuzz: characters inserted, deleted, lines swapped) never differ', async (t) => {
  const fast = await mutatedDifferential(t, {
    generated,
    firstSeed: 10_000,
    seed: 42,
    alphabet: 'ab:<>@ ."=?\t\r\n;,()\\',
    takes: parseSimpleText,
    shown: 400,
  });
  t.true(fast > 200);
});

test('differential: nodemailer-built text mail (what applications under test send) and the eml-format corpus', async (t) => {
  const cases: Buffer[] = [
    await build({
      from: 'App <noreply@app.test>',
      to: 'user@mw.test',
      subject: 'Confirm your address',
      text: 'Your code is 123456.\nhttps://app.test/c?x=1\n',
    }),
    await build({
      from: 'noreply@app.test',
      to: ['a@mw.test', 'B <b@mw.test>'],
      cc: 'c@mw.test',
      replyTo: 'help@app.test',
      subject: 'Plain',
      text: 'hello',
    }),
    await build({ from: 'noreply@app.test', to: 'user@mw.test', subject: 'Ünïcode subject', text: 'ascii body' }),
    await build({ from: 'noreply@app.test', to: 'user@mw.test', subject: 'Non-ASCII body', text: 'Grüße' }),
    await build({ from: 'noreply@app.test', to: 'user@mw.test', subject: 'HTML', text: 'text', html: '<p>html</p>' }),
    await build({ from: 'noreply@app.test', to: 'user@mw.test', subject: 'Long line', text: 'x'.repeat(2000) }),
  ];
  cases.push(...emlCorpus());
  for (const raw of cases)
    t.deepEqual(await viaDefault(raw), await viaMailparser(raw), raw.toString('latin1').slice(0, 200));
  t.truthy(parseSimpleText(cases[0]!), 'a nodemailer text-only ASCII message takes the fast path');
  t.truthy(parseSimpleText(cases[1]!));
  t.truthy(parseSimpleText(cases[2]!), "an encoded-word subject is decoded by mailparser's own header code");
  t.is(parseSimpleText(cases[3]!), undefined, 'quoted-printable body: mailparser');
  t.is(parseSimpleText(cases[4]!), undefined, 'multipart: mailparser');
});

test('what the fast path refuses: 8-bit bytes, bare LF headers, mbox From line, unreadable dates, header blocks over its size', (t) => {
  const ok = 'From: a@x.test\r\nSubject: s\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\nbody\r\n';
  t.truthy(parseSimpleText(Buffer.from(ok)));
  t.is(parseSimpleText(Buffer.from(ok.replace('body', 'b\u00e9dy'), 'latin1')), undefined);
  t.is(parseSimpleText(Buffer.from(ok.replace('From: a@x.test\r\n', 'From: a@x.test\n'))), undefined);
  t.is(parseSimpleText(Buffer.from(`From someone Mon Nov 23 2026\r\n${ok}`)), undefined);
  for (const unreadable of ['soon', '']) {
    const raw = Buffer.from(ok.replace('Mon, 23 Nov 2026 10:00:00 +0000', unreadable));
    t.is(parseSimpleText(raw), undefined, `Date: ${unreadable}`);
  }
  t.is(
    parseSimpleText(Buffer.from(ok.replace('Subject: s', `Subject: ${'s'.repeat(SIMPLE_MAX_HEADER_BYTES)}`))),
    undefined,
  );
  t.is(parseSimpleText(Buffer.from(ok.replace('\r\n\r\n', '\r\n'))), undefined, 'no end of headers');
  t.is(parseSimpleText(Buffer.from(`Subject: s\r\nno colon here\r\n\r\nbody`)), undefined);
});
