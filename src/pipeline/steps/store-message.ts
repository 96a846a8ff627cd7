import { ulid } from 'ulid';
import { Dropped } from '../dropped.js';
import type { Step, Stored, WithParsed } from '../context.js';

class LostInsertRace extends Error {}

/**
 * (5) the only write, in one transaction, idempotent on (mailbox, ingress id):
 * an already stored delivery is reported as a duplicate; otherwise the mailbox row is reserved
 * (next sequence number + quota, conditional on active/unexpired/under quota) and the message inserted.
 * A concurrent twin that inserts first makes our insert a no-op, and we roll back our reservation.
 */
export const storeMessage: Step<WithParsed, Stored> = async (d, { inTransaction, stores }) => {
  const existing = await stores.messages.findByIngress(d.mailbox.id, d.job.ingressId);
  if (existing) return { ...d, messageId: existing.id, seq: existing.seq, duplicate: true };
  try {
    return await inTransaction(async (tx) => {
      const r = await tx.mailboxes.reserve(d.mailbox.id, d.raw.length, d.plan.maxMessagesPerMailbox);
      if (!r.ok) {
        const reason = r.reason === 'unknown_mailbox' ? 'unknown_mailbox' : r.reason;
        throw new Dropped(reason, d.mailbox.id, `not stored: ${reason}`);
      }
      const id = ulid();
      const inserted = await tx.messages.insert({
        id,
        mailboxId: d.mailbox.id,
        seq: r.seq,
        ingressId: d.job.ingressId,
        source: d.job.source,
        envelopeFrom: d.job.envelope.from,
        envelopeTo: d.job.envelope.to,
        ...d.parsed,
        raw: d.raw,
        receivedAt: new Date(d.job.receivedAt),
      });
      if (!inserted) throw new LostInsertRace();
      return { ...d, messageId: id, seq: r.seq, duplicate: false };
    });
  } catch (err) {
    if (!(err instanceof LostInsertRace)) throw err;
    const twin = await stores.messages.findByIngress(d.mailbox.id, d.job.ingressId);
    if (!twin) throw new Error('insert conflicted but no stored twin was found', { cause: err });
    return { ...d, messageId: twin.id, seq: twin.seq, duplicate: true };
  }
};
