import { messagesOf, type InboundMessage } from '../../src/queue/payloads.js';
import type { System } from './system.js';

const STATES = ['waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized'] as const;

/** Every message in the inbound queues (waiting or done), single jobs and batch jobs alike. */
export async function queuedMessages(sys: System): Promise<InboundMessage[]> {
  const jobs = (await Promise.all([sys.deps.queues.inbound, sys.deps.queues.inboundLarge].map((q) => q.getJobs([...STATES])))).flat();
  return jobs.flatMap((j) => messagesOf(j.data) ?? []);
}
