import { isAccessEvent, type StreamEvent } from '../pubsub/events.js';
import { apiKeyCredential, type CredentialKey } from './credential.js';

export type HubListener = (e: StreamEvent) => void;

/**
 * In-process fan-out of mailbox events: listeners keyed by mailbox id, and (streams only) by the
 * credential they were opened with. Fed by the one Redis subscriber of this web process; streams and
 * blocking waits register here and unregister on close. Mailbox events go to the mailbox's listeners;
 * `api_key_revoked` goes to the listeners opened with that key, whatever their mailbox.
 */
export interface Hub {
  /** Returns the unsubscribe function (idempotent). */
  subscribe(mailboxId: string, listener: HubListener, credential?: CredentialKey): () => void;
  dispatch(e: StreamEvent): void;
  /** listeners currently registered (all mailboxes) */
  size(): number;
}

/** One registration: an object, not a wrapper closure (smaller, and not renamed by tsx per call). */
interface Entry { readonly listener: HubListener }

export function createHub(onListenerError: (err: unknown, e: StreamEvent) => void = () => undefined): Hub {
  const byMailbox = new Map<string, Set<Entry>>();
  const byCredential = new Map<string, Set<Entry>>();
  let count = 0;
  const add = (map: Map<string, Set<Entry>>, key: string, entry: Entry) => {
    let set = map.get(key);
    if (!set) map.set(key, (set = new Set()));
    set.add(entry);
  };
  const remove = (map: Map<string, Set<Entry>>, key: string, entry: Entry) => {
    const s = map.get(key);
    const removed = s?.delete(entry) ?? false;
    if (s && s.size === 0) map.delete(key);
    return removed;
  };
  return {
    subscribe(mailboxId, listener, credential) {
      // an entry per call, so the same function may be registered twice and still be removed once per call
      const entry: Entry = { listener };
      add(byMailbox, mailboxId, entry);
      if (credential) add(byCredential, credential, entry);
      count++;
      let done = false;
      return () => {
        if (done) return;
        done = true;
        if (remove(byMailbox, mailboxId, entry)) count--;
        if (credential) remove(byCredential, credential, entry);
      };
    },
    dispatch(e) {
      const set = isAccessEvent(e) ? byCredential.get(apiKeyCredential(e.keyId)) : byMailbox.get(e.mailboxId);
      if (!set) return;
      for (const entry of [...set]) {
        try {
          entry.listener(e);
        } catch (err) {
          onListenerError(err, e);
        }
      }
    },
    size: () => count,
  };
}
