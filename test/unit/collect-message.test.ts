import test from 'ava';
import { PassThrough } from 'node:stream';
import { IngressBusy, MessageTooLarge, SessionTimeLimit } from '../../src/core/errors.js';
import { collectMessage } from '../../src/ingress/smtp/collect-message.js';
import { createDataBudget } from '../../src/ingress/smtp/data-budget.js';

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

// SMTP_MAX_DATA_BYTES_IN_FLIGHT (issue 24, item 6): the ingress holds at most that many message bytes at once
test('a message that does not fit beside the messages in flight gets 452 4.3.1 and keeps nothing; once they are enqueued it fits', async (t) => {
  const budget = createDataBudget(100);
  const a = new PassThrough();
  const b = new PassThrough();
  const pa = collectMessage(a, 1000, undefined, budget);
  const pb = collectMessage(b, 1000, undefined, budget);
  a.write(Buffer.alloc(60));
  b.write(Buffer.alloc(30));
  t.is(budget.held, 90);
  b.write(Buffer.alloc(30)); // 120 > 100 and b is not alone: b is refused, its 30 bytes are given back
  t.is(budget.held, 60);
  for (let i = 0; i < 10; i++) b.write(Buffer.alloc(30)); // the rest of b's DATA is discarded, not counted
  b.end();
  const err = await t.throwsAsync(pb, { instanceOf: IngressBusy });
  t.is(err.smtp.code, 452);
  t.is(err.smtp.text, '4.3.1 Insufficient system storage, try again later');
  t.true(b.readableEnded, 'the refused DATA was read to its end (the SMTP session stays in sync)');
  a.end(Buffer.alloc(20));
  const raw = await pa;
  t.is(raw.length, 80);
  t.is(budget.held, 80, "a's bytes stay held until the caller releases them (after its enqueue)");
  budget.release(raw.length);
  t.is(budget.held, 0);
  const c = new PassThrough();
  const pc = collectMessage(c, 1000, undefined, budget);
  c.end(Buffer.alloc(90));
  t.is((await pc).length, 90);
});

test('a message larger than SMTP_MAX_DATA_BYTES_IN_FLIGHT is taken when it is alone; failures give their bytes back', async (t) => {
  const budget = createDataBudget(100);
  const big = new PassThrough();
  const pBig = collectMessage(big, 1000, undefined, budget);
  for (let i = 0; i < 5; i++) big.write(Buffer.alloc(50));
  big.end();
  t.is((await pBig).length, 250);
  budget.release(250);
  // over MAX_MESSAGE_BYTES, an abort and a hang-up each release what they had taken
  const tooLarge = new PassThrough();
  const pTooLarge = collectMessage(tooLarge, 40, undefined, budget);
  tooLarge.write(Buffer.alloc(30));
  tooLarge.end(Buffer.alloc(30));
  await t.throwsAsync(pTooLarge, { instanceOf: MessageTooLarge });
  const abort = new AbortController();
  const aborted = new PassThrough();
  const pAborted = collectMessage(aborted, 1000, abort.signal, budget);
  aborted.write(Buffer.alloc(30));
  abort.abort();
  await t.throwsAsync(pAborted, { instanceOf: SessionTimeLimit });
  const gone = new PassThrough();
  const pGone = collectMessage(gone, 1000, undefined, budget);
  gone.write(Buffer.alloc(30));
  gone.destroy(Object.assign(new Error('closed'), { code: 'ECONNECTION' }));
  await t.throwsAsync(pGone);
  t.is(budget.held, 0);
});
