import test from 'ava';
import { parseMailEvent } from '../../../src/pubsub/subscriber.js';
import { isWaitRequest, parseWaitRequest } from '../../../src/stream/wait-filter.js';

const limits = { maxSeconds: 60, filterMaxLength: 20, pageMax: 100 };

test('a plain list is not a wait request; wait or any filter makes one', (t) => {
  t.false(isWaitRequest({ limit: '5', unread: 'true' }));
  for (const k of ['wait', 'subject', 'from', 'since']) t.true(isWaitRequest({ [k]: '1' }), k);
});

test('filters parse into substring or regex matches, with bounds', (t) => {
  const r = parseWaitRequest(
    { wait: '30', subject: 'Your code', from: '/^no-?reply@/i', since: '7', unread: 'true', limit: '3' },
    limits,
  );
  t.is(r.waitSeconds, 30);
  t.deepEqual(r.filter, {
    subject: { kind: 'substring', value: 'Your code' },
    from: { kind: 'regex', source: '^no-?reply@' },
    afterSeq: 7,
    unreadOnly: true,
    limit: 3,
  });
  t.is(parseWaitRequest({ subject: 'x' }, limits).waitSeconds, 0);
});

test('bad filters are rejected with codes', (t) => {
  const code = (q: Record<string, unknown>) =>
    t.throws<Error & { code: string }>(() => parseWaitRequest(q, limits)).code;
  t.is(code({ wait: '61' }), 'invalid_wait');
  t.is(code({ wait: '1.5' }), 'invalid_wait');
  t.is(code({ subject: 'x'.repeat(21) }), 'invalid_subject');
  t.is(code({ from: '/[/' }), 'invalid_from');
  t.is(code({ subject: ['a', 'b'] }), 'invalid_subject');
  t.is(code({ since: '-1' }), 'invalid_cursor');
  t.is(code({ limit: '101', wait: '1' }), 'invalid_limit');
  t.is(code({ wait: '1', cursor: '3' }), 'unknown_parameter');
});

test('published payloads are validated before reaching the hub', (t) => {
  const ok = { type: 'new_message', mailboxId: 'm', cursor: '3', message: { id: 'X' } };
  t.deepEqual(parseMailEvent(JSON.stringify(ok)), ok as never);
  t.is(parseMailEvent('not json'), undefined);
  t.is(parseMailEvent(JSON.stringify({ ...ok, cursor: 'x' })), undefined);
  t.is(parseMailEvent(JSON.stringify({ type: 'other', mailboxId: 'm' })), undefined);
  t.is(parseMailEvent(JSON.stringify({ type: 'token_revoked', mailboxId: 'm' })), undefined);
  t.deepEqual(parseMailEvent(JSON.stringify({ type: 'api_key_revoked', keyId: 'k' })), {
    type: 'api_key_revoked',
    keyId: 'k',
  });
  t.is(parseMailEvent(JSON.stringify({ type: 'api_key_revoked', mailboxId: 'm' })), undefined);
});
