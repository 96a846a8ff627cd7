import { newUlid as ulid } from '../../core/ids.js';
import { Dropped } from '../dropped.js';
import type { Step, Stored, WithParsed } from '../context.js';

/**
 * (5) the only write: one atomic statement, idempotent on (mailbox, ingress id) (see
 * src/store/message-delivery.ts). An already stored delivery is reported as a duplicate; otherwise the
 * mailbox row is locked (next sequence number + quota, conditional on active/unexpired/under quota) and
 * the message inserted; a concurrent twin that inserts first makes ours a no-op and is reported instead.
 */
export const storeMessage: Step<WithParsed, Stored> = async (d, { stores }) => {
  const r = await stores.messages.deliver({
    id: ulid(),
    mailboxId: d.mailbox.id,
    ingressId: d.job.ingressId,
    source: d.job.source,
    envelopeFrom: d.job.envelope.from,
    envelopeTo: d.job.envelope.to,
    ...d.parsed,
    raw: d.raw,
    receivedAt: new Date(d.job.receivedAt),
  }, { maxMessages: d.plan.maxMessagesPerMailbox });
  if (r.status === 'refused') throw new Dropped(r.reason, d.mailbox.id, `not stored: ${r.reason}`);
  return { ...d, messageId: r.id, seq: r.seq, duplicate: r.status === 'duplicate' };
};
