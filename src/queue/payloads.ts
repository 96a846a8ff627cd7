/** Job data is JSON in Redis: versioned, no Buffers (raw MIME travels as base64), never a credential. */
export interface Envelope { from: string | null; to: string[] }

export interface InboundJob {
  v: 1;
  ingressId: string;
  source: 'smtp' | 'ses';
  receivedAt: string;
  envelope: Envelope;
  rawBase64: string;
  remoteAddress?: string | null;
}

export const INBOUND_JOB_VERSION = 1;
