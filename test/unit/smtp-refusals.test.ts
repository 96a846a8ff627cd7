import test from 'ava';
import { pino } from 'pino';
import { RecipientRejected, Unavailable } from '../../src/core/errors.js';
import { createRefusals } from '../../src/ingress/smtp/refusals.js';

function capture(logRejectsPerSession: number) {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { lines, refusals: createRefusals({ log, logRejectsPerSession }) };
}

test('a refusal becomes the SMTP error smtp-server sends: reply code and enhanced text', (t) => {
  const { refusals } = capture(5);
  const session = { id: 's1' };
  refusals.open(session);
  const err = refusals.reject(new RecipientRejected('domain of x@y is not accepted'), session, 'rcpt');
  t.is(err.responseCode, 550);
  t.is(err.message, '5.7.1 Relaying denied: recipient domain not accepted here');
  const unexpected = refusals.reject(new TypeError('a bug'), session, 'data');
  t.is(unexpected.responseCode, 451, 'an unexpected error is a temporary failure, the client retries');
});

test('the first refusals of a kind per session are logged in full, the rest summed up at its close', (t) => {
  const { lines, refusals } = capture(2);
  const session = { id: 's1' };
  refusals.open(session);
  for (let i = 0; i < 4; i++) refusals.reject(new RecipientRejected('no'), session, 'rcpt');
  refusals.reject(new Unavailable('redis is slow'), session, 'data');
  const rejected = lines.filter((l) => l.event === 'smtp.rejected');
  t.deepEqual(
    rejected.map((l) => [l.stage, l.code, l.reply, l.level]),
    [
      ['rcpt', 'relay_denied', 550, 30],
      ['rcpt', 'relay_denied', 550, 30],
      ['data', 'service_unavailable', 451, 40],
    ],
  );
  t.is(lines.filter((l) => l.event === 'smtp.rejected_summary').length, 0, 'no summary before the close');
  refusals.close(session);
  const summary = lines.filter((l) => l.event === 'smtp.rejected_summary');
  t.is(summary.length, 1);
  // info: only info refusals went unlogged (a warn one would raise it)
  t.like(summary[0], { session: 's1', total: 5, suppressed: 2, level: 30 });
  t.deepEqual(summary[0]!.rejected, [
    { stage: 'rcpt', reply: 550, code: 'relay_denied', count: 4, logged: 2 },
    { stage: 'data', reply: 451, code: 'service_unavailable', count: 1, logged: 1 },
  ]);
});

test('a session whose refusals were all logged writes no summary', (t) => {
  const { lines, refusals } = capture(5);
  const session = { id: 's2' };
  refusals.open(session);
  refusals.reject(new RecipientRejected('no'), session, 'rcpt');
  refusals.close(session);
  t.is(lines.filter((l) => l.event === 'smtp.rejected_summary').length, 0);
});

test('a client gone mid-DATA is logged as smtp.client_gone, not as a refusal, and gets no 451', (t) => {
  const { lines, refusals } = capture(5);
  const err = refusals.clientGone({ id: 's3' }, 'data');
  t.is(err.responseCode, 421);
  t.deepEqual(
    lines.map((l) => [l.event, l.session, l.stage]),
    [['smtp.client_gone', 's3', 'data']],
  );
});
