import { MailboxGone } from '../core/errors.js';
import { untilListening, type Hub } from './hub.js';

/**
 * Block until `search` finds something or `seconds` pass. Subscribes to the hub BEFORE the first
 * query (and waits, at most `listenWaitMs`, until the mailbox's Redis channel is confirmed), re-queries
 * only when an event for this mailbox arrives (never a polling loop), and queries once more at the
 * deadline so a lost publish is still seen. `signal` aborts when the client leaves.
 */
export async function waitForMatch<T>(opts: {
  hub: Hub;
  mailboxId: string;
  seconds: number;
  listenWaitMs: number;
  search: () => Promise<T[]>;
  signal: AbortSignal;
}): Promise<T[]> {
  let dirty = false;
  let gone: 'expired' | 'deleted' | undefined;
  let wake: (() => void) | undefined;
  const unsubscribe = opts.hub.subscribe(opts.mailboxId, (e) => {
    if (e.type === 'new_message') dirty = true;
    else if (e.type === 'mailbox_expired') gone = e.reason;
    else return;
    wake?.();
  });
  const onAbort = () => wake?.();
  opts.signal.addEventListener('abort', onAbort);
  const deadline = Date.now() + opts.seconds * 1000;
  try {
    if (opts.seconds > 0) await untilListening(opts.hub, opts.mailboxId, opts.listenWaitMs);
    let found = await opts.search();
    while (found.length === 0 && !opts.signal.aborted) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      if (!dirty && !gone) {
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve) => {
          wake = resolve;
          timer = setTimeout(resolve, left);
        });
        clearTimeout(timer);
        wake = undefined;
      }
      if (gone) throw new MailboxGone(gone === 'deleted' ? 'mailbox_deleted' : 'mailbox_expired', `mailbox has ${gone === 'deleted' ? 'been deleted' : 'expired'}`);
      if (opts.signal.aborted) break;
      const timedOut = !dirty;
      dirty = false;
      found = await opts.search(); // on an event, or the final look at the deadline
      if (timedOut) break;
    }
    return found;
  } finally {
    unsubscribe();
    opts.signal.removeEventListener('abort', onAbort);
  }
}
