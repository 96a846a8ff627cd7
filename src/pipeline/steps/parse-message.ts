import type { Step, WithParsed, WithPlan } from '../context.js';

/** (4) parse (memoized per job, so N recipients cost one parse). */
export const parseMessage: Step<WithPlan, WithParsed> = async (d) => ({ ...d, parsed: await d.parse() });
