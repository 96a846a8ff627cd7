import { toIso } from '../core/time.js';
import type { MessageSummaryEvent } from '../pubsub/events.js';
import type { MessageSummary } from '../store/messages.js';

/** What a stream sends (both transports carry the same JSON). */
export type StreamFrame =
  | { type: 'ready'; cursor: string }
  | { type: 'new_message'; cursor: string; message: MessageSummaryEvent }
  | { type: 'mailbox_expired'; reason: 'expired' | 'deleted' };

/** Why a stream ended: decides the WebSocket close code and the SSE farewell. */
export type EndReason =
  | 'mailbox_expired'
  | 'token_revoked'
  | 'api_key_revoked'
  | 'token_expired'
  | 'shutdown'
  | 'overloaded'
  | 'error'
  | 'client_gone';

export const summaryEvent = (m: MessageSummary): MessageSummaryEvent => ({
  id: m.id,
  from_address: m.fromAddress,
  subject: m.subject,
  received_at: toIso(m.receivedAt),
  has_attachments: m.hasAttachments,
  tag: m.tag,
});

/** Server-Sent Events encoding: the cursor is the event id, so EventSource resumes by itself. */
export function sseFrame(f: StreamFrame): string {
  const id = f.type === 'mailbox_expired' ? '' : `id: ${f.cursor}\n`;
  return `${id}event: ${f.type}\ndata: ${JSON.stringify(f)}\n\n`;
}

/** WebSocket close codes: 1000 normal (mailbox gone), 1008 policy (token or API key revoked, token expired), 1012 restart, 1013 try later. */
export const WS_CLOSE: Record<Exclude<EndReason, 'client_gone'>, number> = {
  mailbox_expired: 1000,
  token_revoked: 1008,
  api_key_revoked: 1008,
  token_expired: 1008,
  shutdown: 1012,
  overloaded: 1013,
  error: 1011,
};
