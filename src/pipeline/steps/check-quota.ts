import { Dropped } from '../dropped.js';
import { deliveryKey, type Step, type WithPlan } from '../context.js';

/**
 * (3) cheap checks before parsing: the plan's size limit, and an advisory "mailbox full" check that
 * saves a parse. The count it starts from may be a cached copy, so "full" is confirmed on a fresh read
 * before dropping. The atomic reservation in store-message is what actually enforces the count.
 */
export const checkQuota: Step<WithPlan, WithPlan> = async (d, { stores }) => {
  if (d.raw.length > d.plan.maxMessageBytes) {
    throw new Dropped(
      'message_too_large',
      d.mailbox.id,
      `message of ${d.raw.length} bytes exceeds the plan's ${d.plan.maxMessageBytes}`,
    );
  }
  const max = d.plan.maxMessagesPerMailbox;
  if (
    d.mailbox.messageCount >= max &&
    ((await stores.mailboxes.findById(d.mailbox.id))?.messageCount ?? 0) >= max &&
    !(await stores.messages.findByIngress(d.mailbox.id, deliveryKey(d)))
  ) {
    throw new Dropped('mailbox_full', d.mailbox.id, `mailbox holds its plan's ${max} messages`);
  }
  return d;
};
