import { Unavailable } from '../../core/errors.js';
import type { Step, WithMailbox, WithPlan } from '../context.js';

/** (2) mailbox → plan (cached rows; a missing plan is an operator error: retried, not dropped). */
export const loadPlan: Step<WithMailbox, WithPlan> = async (d, { stores }) => {
  const plan = await stores.plans.get(d.mailbox.planId);
  if (!plan) throw new Unavailable(`plan ${d.mailbox.planId} does not exist`);
  return { ...d, plan };
};
