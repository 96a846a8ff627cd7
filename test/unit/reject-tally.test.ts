import test from 'ava';
import { ConfigError, loadConfig } from '../../src/core/config.js';
import { createRejectTally, type RejectKind } from '../../src/ingress/smtp/reject-tally.js';

const relay: RejectKind = { stage: 'rcpt', reply: 550, code: 'relay_denied', level: 'info' };
const busy: RejectKind = { stage: 'data', reply: 451, code: 'service_unavailable', level: 'warn' };

test('the first refusals of each kind are logged in full, the rest counted into the summary', (t) => {
  const tally = createRejectTally(2);
  tally.open('s1');
  t.deepEqual(
    [1, 2, 3, 4].map(() => tally.admit('s1', relay)),
    [true, true, false, false],
  );
  t.true(tally.admit('s1', busy), 'another kind has its own budget');
  t.deepEqual(tally.close('s1'), {
    total: 5,
    suppressed: 2,
    level: 'info',
    kinds: [
      { ...relay, count: 4, logged: 2 },
      { ...busy, count: 1, logged: 1 },
    ],
  });
  t.is(tally.close('s1'), undefined, 'a session is summarized once');
});

test('no summary when every refusal was logged in full; warn when a warn-level refusal was suppressed', (t) => {
  const tally = createRejectTally(1);
  tally.open('a');
  tally.admit('a', relay);
  t.is(tally.close('a'), undefined);
  tally.open('b');
  tally.admit('b', busy);
  tally.admit('b', busy);
  t.like(tally.close('b'), { total: 2, suppressed: 1, level: 'warn' });
});

test('a limit of 0 logs nothing in full; a session that is not open (closed already) is logged in full', (t) => {
  const tally = createRejectTally(0);
  tally.open('s');
  t.false(tally.admit('s', relay));
  t.like(tally.close('s'), { total: 1, suppressed: 1 });
  t.true(tally.admit('s', busy), 'after the close nothing would summarize it');
  t.is(tally.close('s'), undefined, 'and it left nothing behind');
});

test('SMTP_LOG_REJECTS_PER_SESSION: default 5, 0 allowed, negative or non-numeric refused', (t) => {
  t.is(loadConfig({}).smtp.logRejectsPerSession, 5);
  t.is(loadConfig({ SMTP_LOG_REJECTS_PER_SESSION: '0' }).smtp.logRejectsPerSession, 0);
  for (const bad of ['-1', 'many', '1.5', '10001']) {
    const err = t.throws(() => loadConfig({ SMTP_LOG_REJECTS_PER_SESSION: bad }), { instanceOf: ConfigError }, bad);
    t.regex(err.message, /SMTP_LOG_REJECTS_PER_SESSION/);
  }
});
