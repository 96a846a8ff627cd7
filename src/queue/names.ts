/**
 * `inbound` carries messages up to WORKER_LARGE_MESSAGE_BYTES, worked WORKER_CONCURRENCY at a time;
 * `inbound-large` the larger ones, WORKER_LARGE_CONCURRENCY at a time (a worker's memory stays bounded
 * while small mail, nearly all of it, gets a high concurrency).
 */
export const QUEUE = {
  inbound: 'inbound',
  inboundLarge: 'inbound-large',
  maintenance: 'maintenance',
  /** one job per outbound message (job id = its row id), priority by stream; plus the sweeper's repeatable job */
  outbound: 'outbound',
  /** bounce inbox polls: one job per mailbox (issue 21) */
  bounces: 'bounces',
  /** operator webhooks: one job per delivery (job id = delivery id), worked WEBHOOK_CONCURRENCY at a time */
  webhooks: 'webhooks',
} as const;
export const JOB = { deliver: 'deliver', send: 'send', outboundSweep: 'outbound-sweep' } as const;
