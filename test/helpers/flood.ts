import type { Ledger } from './ledger.js';
import { RawSmtp } from './smtp-client.js';

export interface FloodResult {
  replies: Record<string, number>;
  first451At?: number;
  last451At?: number;
  ackTimes: number[];
}

/**
 * Send `count` ledgered messages over SMTP with `concurrency` parallel sessions (one message per session).
 * `port()` is asked before every session, so a test can move traffic between SMTP processes.
 * A 250 is recorded in the ledger; any other outcome (451, 421, refused connection) only counted.
 */
export async function flood(opts: {
  port: () => number;
  to: () => string;
  ledger: Ledger;
  count: number;
  concurrency: number;
  onSent?: (n: number) => void | Promise<void>;
}): Promise<FloodResult> {
  const result: FloodResult = { replies: {}, ackTimes: [] };
  let next = 0;
  let sent = 0;
  const bump = (k: string) => {
    result.replies[k] = (result.replies[k] ?? 0) + 1;
  };
  const lane = async () => {
    while (next < opts.count) {
      next++;
      const id = opts.ledger.next();
      try {
        const r = await RawSmtp.sendOnce(
          opts.port(),
          'flood@example.org',
          [opts.to()],
          `Subject: ${id}\r\nFrom: flood@example.org\r\n\r\nledger ${id}\r\n`,
        );
        const code = (r.data || r.rcpts.at(-1) || r.mail).slice(0, 3);
        bump(code);
        if (code === '250') {
          opts.ledger.ack(id);
          result.ackTimes.push(Date.now());
        }
        if (code === '451') {
          result.first451At ??= Date.now();
          result.last451At = Date.now();
        }
      } catch (err) {
        const m = /^(\d{3})/.exec(String((err as Error).message).replace(/^.*pending: "/, ''));
        bump(m ? m[1]! : 'conn-error');
      }
      await opts.onSent?.(++sent);
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, lane));
  return result;
}
