import type { Plan } from '../store/plans.js';

/** effective_ttl = min(requested or plan default, plan max): silently capped. */
export const effectiveTtlMinutes = (
  requested: number | undefined,
  plan: Pick<Plan, 'defaultTtlMinutes' | 'maxTtlMinutes'>,
) => Math.min(requested ?? plan.defaultTtlMinutes, plan.maxTtlMinutes);
