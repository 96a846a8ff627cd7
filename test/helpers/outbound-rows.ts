import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { verpAddress } from '../../src/core/verp.js';

/**
 * One sent outbound message, written with SQL (the bounce tests do not depend on the outbound worker): a send and
 * one recipient row whose envelope_from is its signed VERP address.
 */
export async function insertSentMessage(
  db: Knex,
  o: { mailboxId: string; recipient: string; verpDomain: string; secret: string; sentAt?: Date },
): Promise<{ id: string; verp: string }> {
  const id = randomUUID();
  const verp = verpAddress(id, o.verpDomain, o.secret);
  const [send] = await db('outbound_sends')
    .insert({ mailbox_id: o.mailboxId, message_id: `<${randomUUID()}@example.org>`, subject: 'Build 42 passed' })
    .returning<{ id: string }[]>('id');
  await db('outbound_messages').insert({
    id,
    send_id: send!.id,
    mailbox_id: o.mailboxId,
    recipient_email: o.recipient,
    recipient_type: 'to',
    position: 0,
    subject: 'Build 42 passed',
    status: 'sent',
    attempts: 1,
    envelope_from: verp,
    message_id: '<send@example.org>',
    sent_at: o.sentAt ?? new Date(),
    created_at: o.sentAt ?? new Date(),
  });
  return { id, verp };
}

/** Every row of the tables a bounce may change, for "identical before and after" checks. */
export async function outboundSnapshot(db: Knex) {
  const rows = (table: string) => db(table).select().orderBy('id');
  return {
    messages: await rows('outbound_messages'),
    events: await rows('outbound_message_events'),
    suppressions: await rows('suppressions'),
    reports: await rows('bounce_reports'),
  };
}
