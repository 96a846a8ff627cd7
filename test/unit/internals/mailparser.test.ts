import test from 'ava';
import { MailParser } from 'mailparser';

// docs/internals.md, row "mailparser processHeaders/libmime": src/pipeline/parse-simple.ts
// decodes the headers of its fast path with these two undocumented members of a MailParser instance.
const ROW = 'internals.md row "mailparser processHeaders/libmime" (src/pipeline/parse-simple.ts)';

const parser = new MailParser() as unknown as Record<string, unknown>;

test('a MailParser instance has processHeaders(lines) returning a Map of decoded headers', (t) => {
  t.is(typeof parser.processHeaders, 'function', `${ROW}: processHeaders is gone`);
  const processHeaders = parser.processHeaders as (lines: { key: string; line: string }[]) => unknown;
  const headers = processHeaders.call(parser, [
    { key: 'subject', line: 'Subject: =?UTF-8?B?Q2Fmw6k=?= open' },
    { key: 'from', line: 'From: "Ann" <ann@example.org>' },
    { key: 'content-type', line: 'Content-Type: text/plain; charset=utf-8' },
    { key: 'subject', line: 'Subject: second one' },
  ]);
  t.true(headers instanceof Map, `${ROW}: processHeaders no longer returns a Map`);
  const map = headers as Map<string, unknown>;
  t.is(map.get('subject'), 'Café open', `${ROW}: encoded words, first of duplicates`);
  t.like(map.get('from'), { value: [{ address: 'ann@example.org', name: 'Ann' }] }, `${ROW}: address shape`);
  t.like(map.get('content-type'), { value: 'text/plain', params: { charset: 'utf-8' } }, `${ROW}: content-type shape`);
});

test('a MailParser instance carries libmime with decodeWords', (t) => {
  const libmime = parser.libmime as { decodeWords?: unknown } | undefined;
  t.is(typeof libmime?.decodeWords, 'function', `${ROW}: libmime.decodeWords is gone`);
  t.is((libmime!.decodeWords as (s: string) => string)('=?ISO-8859-1?Q?Caf=E9?='), 'Café', ROW);
});
