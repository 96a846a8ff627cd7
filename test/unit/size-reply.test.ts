import test from 'ava';
import { MessageTooLarge } from '../../src/core/errors.js';
import { sizeReplyText, withSizeReplyCode, type ReplySender } from '../../src/ingress/smtp/size-reply.js';

const TOO_LARGE = '5.3.4 Message size exceeds fixed maximum message size';

test("smtp-server's own 552 (MAIL FROM SIZE= over the limit) gets the enhanced code 5.3.4", (t) => {
  t.is(sizeReplyText(552, 'Error: message exceeds fixed maximum message size'), TOO_LARGE);
  t.is(sizeReplyText(552, 'Message size exceeds fixed maximum message size'), TOO_LARGE);
  t.is(new MessageTooLarge('x').smtp.text, TOO_LARGE, 'the same text as a message found too large while received');
});

test('a 552 that has an enhanced code, every other reply and multi-line replies are unchanged', (t) => {
  t.is(sizeReplyText(552, TOO_LARGE), TOO_LARGE);
  t.is(sizeReplyText(552, '5.2.2 Mailbox full'), '5.2.2 Mailbox full');
  t.is(sizeReplyText(550, 'Error: no such user'), 'Error: no such user');
  t.is(sizeReplyText(250, 'OK'), 'OK');
  const lines = ['a', 'b'];
  t.is(sizeReplyText(552, lines), lines);
  t.is(sizeReplyText(552, null), null);
});

test('withSizeReplyCode rewrites only what a connection sends as a bare 552, keeping code and context', (t) => {
  const sent: Array<[number, unknown, unknown]> = [];
  const connection: ReplySender = {
    send: (code, data, context) => {
      sent.push([code, data, context]);
    },
  };
  withSizeReplyCode(connection);
  connection.send(552, 'Error: message exceeds fixed maximum message size', 'MAIL FROM');
  connection.send(250, 'Accepted');
  connection.send(421, '4.4.2 session time limit exceeded, closing connection', false);
  t.deepEqual(sent, [
    [552, TOO_LARGE, 'MAIL FROM'],
    [250, 'Accepted', undefined],
    [421, '4.4.2 session time limit exceeded, closing connection', false],
  ]);
});
