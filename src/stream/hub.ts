import { isAccessEvent, type StreamEvent } from '../pubsub/events.js';
import type { MailboxChannels } from '../pubsub/subscriber.js';
import { apiKeyCredential, type CredentialKey } from './credential.js';

export type HubListener = (e: StreamEvent) => void;

/**
 * In-process fan-out of mailbox events: listeners keyed by mailbox id, and (streams only) by the
 * credential they were opened with. Fed by the one Redis subscriber of this web process; streams and
 * blocking waits register here and unregister on close. Mailbox events go to the mailbox's listeners;
 * `api_key_revoked` goes to the listeners opened with that key, whatever their mailbox.
 * With `channels`, the hub asks the subscriber for a mailbox's channel when its first listener arrives
 * and lets it go when the last one leaves.
 */
export interface Hub {
  /** Returns the unsubscribe function (idempotent). */
  subscribe(mailboxId: string, listener: HubListener, credential?: CredentialKey): () => void;
  /**
   * Resolves once events published from now on for this mailbox reach its listeners (its Redis channel
   * is subscribed). A stream or wait subscribes, awaits this, and only then reads Postgres: nothing
   * committed after that read can be missed. Without `channels` (unit tests) it resolves at once.
   */
  listening(mailboxId: string): Promise<void>;
  dispatch(e: StreamEvent): void;
  /** listeners currently registered (all mailboxes) */
  size(): number;
}

/** One registration: an object, not a wrapper closure (smaller, and not renamed by tsx per call). */
interface Entry {
  readonly listener: HubListener;
}

export function createHub(
  onListenerError: (err: unknown, e: StreamEvent) => void = () => undefined,
  channels?: MailboxChannels,
): Hub {
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
      if (!byMailbox.has(mailboxId)) void channels?.want(mailboxId).catch(() => undefined); // failures: logged by the subscriber
      add(byMailbox, mailboxId, entry);
      if (credential) add(byCredential, credential, entry);
      count++;
      let done = false;
      return () => {
        if (done) return;
        done = true;
        if (remove(byMailbox, mailboxId, entry)) count--;
        if (!byMailbox.has(mailboxId)) channels?.drop(mailboxId);
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
    listening: (mailboxId) => (channels && byMailbox.has(mailboxId) ? channels.want(mailboxId) : Promise.resolve()),
    size: () => count,
  };
}

/**
 * `hub.listening(mailboxId)`, waited for at most `ms`. False when Redis did not confirm in time (it is
 * down or slow): the caller goes on regardless, as it would during any Redis outage; a publish it misses is
 * caught up at the stream's next event or reconnect, and a wait queries once more at its deadline.
 */
export async function untilListening(hub: Hub, mailboxId: string, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      hub.listening(mailboxId).then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(resolve, ms, false);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
