import { mailboxEnded, type Mailbox, type MailboxStore } from '../store/mailboxes.js';

export interface MailboxCacheOptions {
  ttlMs: number;
  maxEntries: number;
}

/** A cached copy may only ever say "deliverable": every refusal is decided on a fresh read. */
const deliverable = (m: Mailbox, now: number) => m.kind === 'hosted' && !mailboxEnded(m, now);

/**
 * The worker's recipient -> mailbox lookup with a short positive cache (one query per message saved).
 * Safe because the lookup only pre-screens: the delivery statement re-checks active / unexpired /
 * quota on the locked row, and refuses with the reason. A cached entry is served only while it still
 * looks deliverable; anything else (unknown, inactive, expired, or an old entry) is read fresh, so a
 * stale copy can let a delivery reach the write (which then refuses it) but never drops one wrongly.
 * Message counts in cached copies are stale: check-quota confirms "full" on a fresh read.
 */
export function cachedMailboxLookup(store: MailboxStore, opts: MailboxCacheOptions): MailboxStore['findByAddress'] {
  const entries = new Map<string, { mailbox: Mailbox; until: number }>();
  return async (address) => {
    const now = Date.now();
    const hit = entries.get(address);
    if (hit && hit.until > now && deliverable(hit.mailbox, now)) return hit.mailbox;
    const mailbox = await store.findByAddress(address);
    entries.delete(address);
    if (mailbox && opts.ttlMs > 0 && deliverable(mailbox, now)) {
      if (entries.size >= opts.maxEntries) entries.delete(entries.keys().next().value!);
      entries.set(address, { mailbox, until: now + opts.ttlMs });
    }
    return mailbox;
  };
}
