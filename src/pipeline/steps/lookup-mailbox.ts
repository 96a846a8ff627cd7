import { splitTag } from '../../core/address.js';
import { mailboxEnded } from '../../store/mailboxes.js';
import { isVerpLocalPart } from '../../core/verp.js';
import { Dropped, HandedToBounces } from '../dropped.js';
import type { Delivery, Step, WithMailbox } from '../context.js';

/**
 * (1) recipient → mailbox and tag (`box+tag@d` goes to `box@d`, ADDRESS_TAG_SEPARATOR). Unknown, inactive,
 * expired or non-hosted mailboxes are dropped. A VERP recipient's message is handed to the bounce processor.
 */
export const lookupMailbox: Step<Delivery, WithMailbox> = async (d, { stores, config, bounces }) => {
  // a VERP return path is never a mailbox: its message goes to the bounce processor instead of being dropped
  if (bounces && isVerpLocalPart(d.recipient.slice(0, d.recipient.lastIndexOf('@')))) {
    const handled = await bounces({ raw: d.raw, rcpt: d.recipient, ingressId: d.job.ingressId });
    if (handled.result === 'rejected') throw new Dropped('bounce_rejected', null, handled.detail);
    throw new HandedToBounces(handled.detail);
  }
  const { address, tag } = splitTag(d.recipient, config.mail.tagSeparator);
  const mailbox = await stores.mailboxes.findByAddress(address);
  if (!mailbox) throw new Dropped('unknown_mailbox', null, `no mailbox for ${address}`);
  if (mailbox.kind !== 'hosted') throw new Dropped('not_hosted', mailbox.id, 'mailbox is not hosted here');
  if (mailboxEnded(mailbox)) {
    // deactivated (deleted, or expired by a job) vs. past its expires_at with no job run yet
    if (!mailbox.isActive) throw new Dropped('mailbox_inactive', mailbox.id, 'mailbox is inactive');
    throw new Dropped('mailbox_expired', mailbox.id, 'mailbox has expired');
  }
  return { ...d, mailbox, tag };
};
