import type { MailEvent } from '../pubsub/events.js';

export type HubListener = (e: MailEvent) => void;

/**
 * In-process fan-out of mailbox events: listeners keyed by mailbox id. Fed by the one Redis
 * subscriber of this web process; streams and blocking waits register here and unregister on close.
 */
export interface Hub {
  /** Returns the unsubscribe function (idempotent). */
  subscribe(mailboxId: string, listener: HubListener): () => void;
  dispatch(e: MailEvent): void;
  /** listeners currently registered (all mailboxes) */
  size(): number;
}

export function createHub(onListenerError: (err: unknown, e: MailEvent) => void = () => undefined): Hub {
  const byMailbox = new Map<string, Set<HubListener>>();
  let count = 0;
  return {
    subscribe(mailboxId, listener) {
      let set = byMailbox.get(mailboxId);
      if (!set) byMailbox.set(mailboxId, (set = new Set()));
      // wrap so the same function may be registered twice and still be removed once per call
      const entry: HubListener = (e) => listener(e);
      set.add(entry);
      count++;
      let done = false;
      return () => {
        if (done) return;
        done = true;
        const s = byMailbox.get(mailboxId);
        if (s?.delete(entry)) count--;
        if (s && s.size === 0) byMailbox.delete(mailboxId);
      };
    },
    dispatch(e) {
      const set = byMailbox.get(e.mailboxId);
      if (!set) return;
      for (const listener of [...set]) {
        try {
          listener(e);
        } catch (err) {
          onListenerError(err, e);
        }
      }
    },
    size: () => count,
  };
}
