import test from 'ava';
import { largestPlanMessageBytes, planSizeProblems } from '../../src/ops/plan-limits.js';

const plans = [
  { id: 'small', maxMessageBytes: 1_000 },
  { id: 'big', maxMessageBytes: 50_000 },
];

test('every plan allowing more than the SMTP SIZE is named', (t) => {
  t.deepEqual(planSizeProblems(10_000, plans), [
    'plan "big" allows 50000 bytes per message but SMTP accepts at most MAX_MESSAGE_BYTES=10000',
  ]);
  t.deepEqual(planSizeProblems(50_000, plans), []);
});

test('the SIZE covering every plan is the largest plan limit', (t) => {
  t.is(largestPlanMessageBytes(plans), 50_000);
  t.is(largestPlanMessageBytes([]), 0);
});
