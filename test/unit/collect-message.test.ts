import test from 'ava';
import { PassThrough } from 'node:stream';
import { MessageTooLarge } from '../../src/core/errors.js';
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
  t.is(err!.smtp.code, 552);
  t.regex(err!.smtp.text, /^5\.3\.4 /);
  t.true(s.readableEnded, 'the stream was read to its end (the SMTP session stays in sync)');
});
