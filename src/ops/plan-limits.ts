import type { Plan } from '../store/plans.js';

/**
 * SMTP advertises and enforces one SIZE (MAX_MESSAGE_BYTES, the bound on a job's payload); the
 * worker then applies each plan's max_message_bytes. A plan allowing more than SMTP accepts can never
 * get its limit: name every such plan so the operator raises MAX_MESSAGE_BYTES (or lowers the plan).
 */
export function planSizeProblems(maxMessageBytes: number, plans: Pick<Plan, 'id' | 'maxMessageBytes'>[]): string[] {
  return plans
    .filter((p) => p.maxMessageBytes > maxMessageBytes)
    .map(
      (p) =>
        `plan "${p.id}" allows ${p.maxMessageBytes} bytes per message but SMTP accepts at most MAX_MESSAGE_BYTES=${maxMessageBytes}`,
    );
}

/** The SMTP SIZE that covers every plan: the largest max_message_bytes. */
export const largestPlanMessageBytes = (plans: Pick<Plan, 'maxMessageBytes'>[]) =>
  Math.max(0, ...plans.map((p) => p.maxMessageBytes));
