import { isAscii } from 'node:buffer';

/**
 * Job data is JSON in Redis: versioned, no Buffers, never a credential. The raw MIME travels in one of two
 * fields: `rawAscii` (the bytes as a string) when every byte is 7-bit, which is most mail, or `rawBase64`
 * otherwise (8BITMIME bodies, stray high bytes). `rawAscii` is about a quarter smaller than base64 and needs
 * no encoding on either side: Redis stores, copies and returns fewer bytes (its BullMQ scripts cost more for a
 * larger job: see docs/benchmarks/README.md), the ingress skips the encoding and the worker the decoding.
 * A worker reads both; jobs queued by an older ingress carry `rawBase64` only.
 */
export interface Envelope {
  from: string | null;
  to: string[];
}

export interface InboundJob {
  v: 1;
  ingressId: string;
  source: 'smtp' | 'ses';
  receivedAt: string;
  envelope: Envelope;
  /** exactly one of the two raw fields is set */
  rawAscii?: string;
  rawBase64?: string;
  remoteAddress?: string | null;
  /**
   * 2: this job is the retry of a parse that ran out of PARSE_TIMEOUT_MS (pipeline/parse-retry.ts): it parses under
   * PARSE_RETRY_TIMEOUT_MS and a timeout is now final. Absent: the first attempt (jobs of older ingresses too).
   */
  parseAttempt?: number;
}

export const INBOUND_JOB_VERSION = 1;

/** The raw field(s) of a job for these bytes. */
export function encodeRaw(raw: Buffer): Pick<InboundJob, 'rawAscii' | 'rawBase64'> {
  return isAscii(raw) ? { rawAscii: raw.toString('latin1') } : { rawBase64: raw.toString('base64') };
}

/** The raw bytes of a job, or undefined when it carries neither field (a malformed job). */
export function decodeRaw(data: Pick<InboundJob, 'rawAscii' | 'rawBase64'>): Buffer | undefined {
  if (typeof data.rawAscii === 'string') return Buffer.from(data.rawAscii, 'latin1');
  if (typeof data.rawBase64 === 'string') return Buffer.from(data.rawBase64, 'base64');
  return undefined;
}

/** One outbound message to send: only its row id (the content and credentials stay in Postgres). */
export interface OutboundJob {
  v: 1;
  id: string;
}

/** The raw size in bytes a job carries, read without decoding it (0 when it carries none). */
export function rawBytesOf(data: Pick<InboundJob, 'rawAscii' | 'rawBase64'>): number {
  if (typeof data.rawAscii === 'string') return data.rawAscii.length;
  if (typeof data.rawBase64 === 'string') return Buffer.byteLength(data.rawBase64, 'base64');
  return 0;
}
