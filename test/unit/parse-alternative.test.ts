import test from 'ava';
import { presetMessage } from '../../bench/ingest-mail.js';
import { parseAlternative } from '../../src/pipeline/parse-alternative.js';
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

// The fast path for multipart/alternative (text + HTML) must give exactly what mailparser gives, field by field:
// text, html, attachments, headers, codes, links, addresses, dates. Whatever it does not take goes to mailparser.

const ROOT_TYPE = [
  'multipart/alternative; boundary="{b}"',
  'multipart/alternative; boundary={b}',
  'MULTIPART/ALTERNATIVE;\r\n boundary="{b}"',
  'multipart/alternative; boundary="{b}"; charset=utf-8',
  'multipart/mixed; boundary="{b}"',
  'multipart/related; boundary="{b}"',
  'multipart/alternative',
];
const BOUNDARIES = ['b1', '----=_Part_123_456.789', "abc'()+_,-./:=?", 'sp ace', '00'];
const PART_TYPE = [
  'text/plain; charset=utf-8',
  'text/plain; charset="UTF-8"',
  'text/plain; charset=us-ascii',
  'text/plain',
  'text/plain; charset=iso-8859-1',
  'text/plain; charset=utf-8; format=flowed',
  'text/html; charset=utf-8',
  'text/html',
  'text/html; charset=windows-1252',
  'application/octet-stream',
  undefined,
];
const PART_CTE = [undefined, '7bit', '8bit', 'quoted-printable', 'Quoted-Printable', 'base64', 'x-unknown'];
const EXTRA_PART_HEADER = [
  undefined,
  'Content-Disposition: inline',
  'Content-ID: <x@y>',
  'Content-Disposition: attachment; filename="a.txt"',
  'X-Other: 1',
];
const TEXTS = [
  'Your verification code is 482913.\r\nhttps://app.test/verify?t=abc&u=1\r\n',
  'Hello =3D soft=\r\nbreak and =C3=A9t=C3=A9\r\n',
  'trailing spaces   \r\nand tabs\t\r\n',
  'no final newline',
  '',
  '\r\n',
  'Gr\u00c3\u00bc\u00c3\u009fe 8-bit utf-8\r\n',
  'broken =ZZ escape and = at end=',
  'lone\rcarriage\r\n',
  'unix\nlines\n',
  '--b1 look-alike line\r\n',
  'dots\r\n.\r\n..\r\n',
];
const HTMLS = [
  '<p>Your code is <b>123456</b></p><a href="https://app.test/x?a=1&amp;b=2">Confirm</a>\r\n',
  '<html><head><style>p{color:red}</style></head><body><p style=3D"margin:0">qp html</p></body></html>\r\n',
  '<div>caf=C3=A9 <a href=3D"https://x.test/=\r\nlong">link</a></div>',
  '',
  '<p>8-bit \u00c3\u00a9</p>\r\n',
];

function generated(seed: number): Buffer {
  const r = rng(seed);
  const b = pick(r, BOUNDARIES);
  const root = [
    'From: App <noreply@app.test>',
    'To: user@mw.test',
    `Subject: ${pick(r, ['Confirm', 'Your code is 654321', '=?utf-8?B?w6l0w6k=?= encoded', 'folded\r\n subject'])}`,
    `Date: ${pick(r, ['Mon, 23 Nov 2026 10:00:00 +0000', '23 Nov 2026 10:00 -0500'])}`,
    `Message-ID: <${seed}@app.test>`,
    'MIME-Version: 1.0',
  ];
  const rootType = r() < 0.8 ? pick(r, ROOT_TYPE.slice(0, 3)) : pick(r, ROOT_TYPE);
  if (r() < 0.95) root.push(`Content-Type: ${rootType.replace('{b}', b)}`);
  if (r() < 0.05) root.push('Content-Transfer-Encoding: quoted-printable');
  if (r() < 0.05) root.push('Content-Disposition: inline');
  if (r() < 0.1) root.reverse();
  const part = (type: string | undefined, body: string) => {
    const h: string[] = [];
    if (type !== undefined && r() > 0.05) h.push(`Content-Type: ${type}`);
    const cte = r() < 0.8 ? pick(r, [undefined, '7bit', 'quoted-printable']) : pick(r, PART_CTE);
    if (cte) h.push(`Content-Transfer-Encoding: ${cte}`);
    if (r() < 0.05) {
      const extra = pick(r, EXTRA_PART_HEADER);
      if (extra) h.push(extra);
    }
    return `${h.join('\r\n')}\r\n\r\n${body}`;
  };
  const plainType = r() < 0.75 ? pick(r, PART_TYPE.slice(0, 4)) : pick(r, PART_TYPE);
  const htmlType = r() < 0.75 ? pick(r, PART_TYPE.slice(6, 8)) : pick(r, PART_TYPE);
  // mostly bodies the fast path takes, so that it is exercised; the rest are its edge cases
  const text = r() < 0.6 ? pick(r, TEXTS.slice(0, 4)) : pick(r, TEXTS);
  const html = r() < 0.7 ? pick(r, HTMLS.slice(0, 3)) : pick(r, HTMLS);
  let parts = [part(plainType, text), part(htmlType, html)];
  if (r() < 0.05) parts = [parts[1]!, parts[0]!];
  if (r() < 0.05) parts.push(part('text/plain', 'third part\r\n'));
  if (r() < 0.05) parts = parts.slice(0, 1);
  const preamble = r() < 0.05 ? 'This is a multi-part message in MIME format.\r\n' : '';
  const padding = r() < 0.03 ? ' ' : '';
  const epilogue = pick(r, ['', '\r\n', '\r\n', '\r\n', '\r\nepilogue\r\n']);
  let body = `${preamble}${parts.map((p) => `--${b}${padding}\r\n${p}\r\n`).join('')}--${b}--${epilogue}`;
  if (r() < 0.03) body = body.replace(/\r\n/g, '\n');
  return Buffer.from(`${root.join('\r\n')}\r\n\r\n${body}`, 'latin1');
}

test('differential: 1,500 generated multipart/alternative messages parse the same with and without the fast path', async (t) => {
  const fast = await generatedDifferential(t, { generated, takes: parseAlternative, shown: 600 });
  t.true(fast > 200, `the fast path must actually be exercised (taken ${fast} times)`);
  t.true(fast < 1_400, 'and refused for the variants it does not cover');
});

test('differential: mutated messages (fuzz: characters inserted, deleted, lines swapped) never differ', async (t) => {
  const fast = await mutatedDifferential(t, {
    generated,
    firstSeed: 20_000,
    seed: 7,
    alphabet: 'ab:<>@ ."=?-\t\r\n;,()\\',
    takes: parseAlternative,
    shown: 600,
  });
  t.true(fast > 60, `the fast path must be exercised by mutants too (taken ${fast} times)`);
});

test('differential: nodemailer-built HTML mail, the benchmark presets and the eml-format corpus', async (t) => {
  const longHtml = `<table>${'<tr><td style="padding:4px;font-family:Arial">Row with <a href="https://app.test/r?i=1&amp;u=2">a link</a> é</td></tr>\n'.repeat(300)}</table>`;
  const nodemailer = [
    await build({
      from: 'App <noreply@app.test>',
      to: 'user@mw.test',
      subject: 'Confirm your address',
      text: 'Your code is 123456.\nhttps://app.test/c?x=1\n',
      html: '<p>Your code is <b>123456</b>.</p><p><a href="https://app.test/c?x=1">Confirm</a></p>',
    }),
    await build({
      from: 'noreply@app.test',
      to: 'user@mw.test',
      subject: 'Grüße',
      text: 'Grüße, dein Code lautet 998877',
      html: '<p>Grüße, dein Code lautet <strong>998877</strong></p>',
    }),
    await build({
      from: 'noreply@app.test',
      to: 'user@mw.test',
      subject: 'Long',
      text: 'x '.repeat(3000),
      html: longHtml,
    }),
    await build({
      from: 'noreply@app.test',
      to: 'user@mw.test',
      subject: 'With attachment',
      text: 't',
      html: '<p>h</p>',
      attachments: [{ filename: 'a.txt', content: 'hello' }],
    }),
  ];
  const presets = [presetMessage('html', 't', 0, 1, 'box@mw.test'), presetMessage('related', 't', 0, 2, 'box@mw.test')];
  const corpus = emlCorpus();
  for (const raw of [...nodemailer, ...presets, ...corpus])
    t.deepEqual(await viaDefault(raw), await viaMailparser(raw), raw.toString('latin1').slice(0, 300));
  for (const raw of nodemailer.slice(0, 3))
    t.truthy(parseAlternative(raw), 'nodemailer text + HTML takes the fast path');
  t.truthy(parseAlternative(presets[0]!), 'the 50 KB bench preset takes the fast path');
  t.is(parseAlternative(nodemailer[3]!), undefined, 'multipart/mixed with an attachment: mailparser');
  t.is(parseAlternative(presets[1]!), undefined, 'multipart/related: mailparser');
  const parsed = await viaDefault(presets[0]!);
  t.true(
    parsed.codes.some((c) => c.code === '482913'),
    'the code is found',
  );
  t.true(parsed.links.length > 20, 'the links are found');
});
