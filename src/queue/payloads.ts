/** Job data is JSON in Redis: versioned, no Buffers (raw MIME travels as base64), never a credential. */
export interface Envelope { from: string | null; to: string[] }

/** One received message, as the ingress saw it. */
export interface InboundMessage {
  ingressId: string;
  source: 'smtp' | 'ses';
  receivedAt: string;
  envelope: Envelope;
  rawBase64: string;
  remoteAddress?: string | null;
}

/** One message; its job id is its ingress id (a redelivered SNS notification is not queued twice). */
export interface InboundSingleJob extends InboundMessage { v: 1 }

/**
 * Several messages acknowledged together (SMTP ingress under load, `INGRESS_BATCH_*`): one Redis job and
 * one group commit for all of them. Each message keeps its own ingress id, so each is stored once however
 * often the job runs.
 */
export interface InboundBatchJob { v: 2; messages: InboundMessage[] }

export type InboundJob = InboundSingleJob | InboundBatchJob;

export const INBOUND_JOB_VERSION = 1;
export const INBOUND_BATCH_JOB_VERSION = 2;

/** The messages a job carries, whatever its version (undefined for a version this code does not know). */
export function messagesOf(job: InboundJob): InboundMessage[] | undefined {
  if (job.v === INBOUND_JOB_VERSION) return [job];
  if (job.v === INBOUND_BATCH_JOB_VERSION && Array.isArray(job.messages)) return job.messages;
  return undefined;
}
