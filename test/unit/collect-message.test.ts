import test from 'ava';
import { PassThrough } from 'node:stream';
import { MessageTooLarge, SessionTimeLimit } from '../../src/core/errors.js';
import { collectMessage } from '../../src/ingress/smtp/collect-message.js';

test('collects a message under the limit exactly', async (t) => {
  const s = new PassThrough();
  const p = collectMessage(s, 10);
  s.write(Buffer.from('abc'));
  s.end(Buffer.from('defg'));
  t.deepEqual(await p, Buffer.from('abcdefg'));
});

test('over the limit: drains everything, keeps nothing, rejects with 552', async (t) => {
  const s = new PassThrough();
  const p = collectMessage(s, 10);
  for (let i = 0; i < 100; i++) s.write(Buffer.alloc(1000));
  s.end();
  const err = await t.throwsAsync(p, { instanceOf: MessageTooLarge });
  t.is(err.smtp.code, 552);
  t.regex(err.smtp.text, /^5\.3\.4 /);
  t.true(s.readableEnded, 'the stream was read to its end (the SMTP session stays in sync)');
});

test('an abort (SMTP time limit) rejects at once with 421 4.4.2 without waiting for the end, and keeps nothing', async (t) => {
  const s = new PassThrough();
  const abort = new AbortController();
  const p = collectMessage(s, 1000, abort.signal);
  s.write(Buffer.from('partial'));
  abort.abort();
  const err = await t.throwsAsync(p, { instanceOf: SessionTimeLimit });
  t.is(err.smtp.code, 421);
  t.is(err.smtp.text, '4.4.2 session time limit exceeded, closing connection');
  t.false(s.readableEnded, 'rejected before the stream ended');
  s.end(Buffer.from('rest')); // the rest is discarded; no second settlement, no unhandled error
});
