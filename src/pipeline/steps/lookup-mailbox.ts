import { splitTag } from '../../core/address.js';
import { mailboxEnded } from '../../store/mailboxes.js';
import { Dropped } from '../dropped.js';
import type { Delivery, Step, WithMailbox } from '../context.js';

/**
 * (1) recipient → mailbox and tag (`box+tag@d` goes to `box@d`, ADDRESS_TAG_SEPARATOR). Unknown, inactive,
 * expired or non-hosted mailboxes are dropped.
 */
export const lookupMailbox: Step<Delivery, WithMailbox> = async (d, { stores, config }) => {
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
