import { Redis } from 'ioredis';
import { mailboxChannel, type MailEvent } from '../../src/pubsub/events.js';
import { TEST_REDIS_URL } from './redis.js';

/** Collect the events published for one mailbox (a test subscriber; call close() when done). */
export async function listenToMailbox(prefix: string, mailboxId: string) {
  const sub = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const events: MailEvent[] = [];
  const waiters: Array<() => void> = [];
  sub.on('message', (_channel: string, text: string) => {
    events.push(JSON.parse(text) as MailEvent);
    for (const w of waiters.splice(0)) w();
  });
  await sub.subscribe(mailboxChannel(prefix, mailboxId));
  return {
    events,
    /** resolves with the first event of this type, or rejects after timeoutMs */
    async next(type: MailEvent['type'], timeoutMs = 5_000): Promise<MailEvent> {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const found = events.find((e) => e.type === type);
        if (found) return found;
        const left = until - Date.now();
        if (left <= 0) throw new Error(`no ${type} event within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
    },
    close: () => {
      sub.disconnect();
    },
  };
}

/** Poll `probe` until it returns a value (not undefined), or fail after timeoutMs. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 5_000, everyMs = 10): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
