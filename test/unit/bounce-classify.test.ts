import test from 'ava';
import { classifyBounce, type BounceClass } from '../../src/bounces/classify.js';
import { parseBounce } from '../../src/bounces/parse-bounce.js';
import { findVerp } from '../../src/bounces/verp-find.js';
import { verpAddress } from '../../src/core/verp.js';
import { dsn, dsnFixtures } from '../helpers/dsn.js';

const SECRET = 'unit-test-bounce-secret-0123456789abcdef';
const ID = '7d1f6c2e-3b4a-4c5d-9e8f-0a1b2c3d4e5f';
const VERP = verpAddress(ID, 'bounces.example.org', SECRET);
const RCPT = 'ann@dest.example';

/** fixture → class, action, status (null: none), a fragment of the diagnostic (null: none expected) */
const TABLE: [string, BounceClass, string | null, string | null, string | null][] = [
  ['postfix-hard.eml', 'hard', 'failed', '5.1.1', 'User unknown'],
  ['postfix-soft.eml', 'soft', 'failed', '5.2.2', 'Mailbox full'],
  ['postfix-delay.eml', 'delayed', 'delayed', '4.4.1', 'Connection timed out'],
  ['exim-hard.eml', 'hard', 'failed', '5.0.0', 'User unknown'],
  ['exim-soft.eml', 'soft', 'failed', '4.2.2', 'over quota'],
  ['exim-delay.eml', 'delayed', 'delayed', '4.7.1', 'Greylisted'],
  ['sendmail-hard.eml', 'hard', 'failed', '5.1.1', 'User unknown'],
  ['sendmail-soft.eml', 'soft', 'failed', '4.2.2', 'Mailbox full'],
  ['sendmail-delay.eml', 'delayed', 'delayed', '4.4.1', null],
  ['exchange-hard.eml', 'hard', 'failed', '5.1.10', 'RecipientNotFound'],
  ['exchange-soft.eml', 'soft', 'failed', '5.2.2', 'QuotaExceededException'],
  ['exchange-delay.eml', 'delayed', 'delayed', '4.4.7', null],
  ['gmail-hard.eml', 'hard', 'failed', '5.1.1', 'does not exist'],
  ['gmail-soft.eml', 'soft', 'failed', '4.2.2', 'over quota'],
  ['gmail-delay.eml', 'delayed', 'delayed', '4.3.0', 'temporarily rejected'],
  ['qmail-hard.eml', 'hard', 'failed', '5.1.1', 'no mailbox here'],
  ['qmail-soft.eml', 'soft', 'failed', '5.2.2', 'quota exceeded'],
  ['qmail-delay.eml', 'delayed', 'delayed', '4.4.2', 'connection died'],
  ['yahoo-hard.eml', 'hard', 'failed', '5.0.0', "doesn't have a yahoo.com account"],
  ['yahoo-soft.eml', 'soft', 'failed', '5.0.0', 'mailbox is full'],
  ['yahoo-delay.eml', 'delayed', 'delayed', '4.7.0', 'temporarily deferred'],
  ['lenient-multi.eml', 'hard', 'failed', '5.1.1', 'User unknown'],
  ['nostatus-diagnostic.eml', 'hard', 'failed', '5.0.0', 'rejected as spam'],
  ['global-dsn.eml', 'hard', 'failed', '5.1.1', null],
  ['relayed.eml', 'none', 'relayed', '2.0.0', null],
  ['vacation.eml', 'none', 'auto_reply', null, null],
  ['arf-complaint.eml', 'complaint', 'complaint', null, 'abuse'],
];

test('the table covers every fixture of the corpus', (t) => {
  t.deepEqual(TABLE.map((r) => r[0]).sort(), dsnFixtures().sort());
});

for (const [file, cls, action, status, diagnostic] of TABLE) {
  test(`${file}: ${cls}`, (t) => {
    const parsed = parseBounce(dsn(file, { verp: VERP, rcpt: RCPT }));
    const c = classifyBounce(parsed, RCPT);
    t.is(c.class, cls);
    t.is(c.action, action);
    t.is(c.status, status);
    if (diagnostic === null) t.pass();
    else t.true((c.diagnostic ?? '').includes(diagnostic), c.diagnostic ?? 'no diagnostic');
    t.true((c.diagnostic ?? '').length <= 1000);
    // the VERP address is found in the top-level headers of every fixture, never in the returned message
    const found = findVerp(parsed.headers, [SECRET]);
    t.deepEqual(found, { ok: true, id: ID, address: VERP });
  });
}

test('the returned message’s own headers are never read for the VERP address', (t) => {
  // Postfix's fixture carries another bounce+ address in the returned message's X-Original-To only
  const parsed = parseBounce(dsn('postfix-hard.eml', { verp: 'someone@example.org', rcpt: RCPT }));
  t.deepEqual(findVerp(parsed.headers, [SECRET]), { ok: false, reason: 'not_verp' });
});

test('forged VERP addresses: unsigned, tampered, truncated, another secret', (t) => {
  const cases: [string, string][] = [
    [`bounce+${ID}@bounces.example.org`, 'malformed'],
    [VERP.replace(/\.([0-9a-f])/, (_m, c: string) => `.${c === '0' ? '1' : '0'}`), 'bad_signature'],
    [VERP.replace(/[0-9a-f]@/, '@'), 'malformed'],
    [verpAddress(ID, 'bounces.example.org', 'another-secret-of-32-characters-at-least'), 'bad_signature'],
  ];
  for (const [verp, reason] of cases) {
    const parsed = parseBounce(dsn('gmail-hard.eml', { verp, rcpt: RCPT }));
    t.deepEqual(findVerp(parsed.headers, [SECRET]), { ok: false, reason: reason as never }, verp);
  }
});

test('the previous secret still verifies during a rotation; the first verifying header wins', (t) => {
  const old = 'the-previous-bounce-secret-0123456789';
  const verp = verpAddress(ID, 'b.example', old);
  const raw = Buffer.from(
    `Delivered-To: bounce+${ID}.0000000000000000@b.example\r\nTo: ${verp}\r\nSubject: x\r\n\r\nbody\r\n`,
  );
  t.deepEqual(findVerp(parseBounce(raw).headers, [SECRET, old]), { ok: true, id: ID, address: verp });
});

test('a DSN for another recipient of the report: the most severe group decides', (t) => {
  const parsed = parseBounce(dsn('lenient-multi.eml', { verp: VERP, rcpt: RCPT }));
  t.is(parsed.deliveryStatus?.recipients.length, 2);
  t.is(classifyBounce(parsed, 'other@dest.example').class, 'delayed');
  t.is(classifyBounce(parsed, 'nobody@dest.example').class, 'hard');
});

test('truncated and garbage input never throws', (t) => {
  const full = dsn('postfix-hard.eml', { verp: VERP, rcpt: RCPT });
  for (let n = 0; n < full.length; n += 97) t.notThrows(() => classifyBounce(parseBounce(full.subarray(0, n)), RCPT));
  t.notThrows(() => classifyBounce(parseBounce(Buffer.from([0, 255, 13, 10, 13, 10, 1]))));
});
