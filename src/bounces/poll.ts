import type { ImapFlow } from 'imapflow';
import type { RedisClient } from '../core/redis.js';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/log.js';
import type { BounceMetrics } from '../ops/bounce-metrics.js';
import { recordBouncePoll } from '../store/bounce-inboxes.js';
import type { Mailbox } from '../store/mailboxes.js';
import { acquireLock } from './lock.js';
import {
  processReadBounces,
  readBounce,
  type BounceOutcome,
  type BounceProcessorDeps,
  type ReadBounce,
} from './process.js';

export const PROCESSED_FOLDER = 'Processed-Bounces' as const;
export const REJECTED_FOLDER = 'Rejected-Bounces' as const;

/** One IMAP session on a bounce inbox (connected/session.ts's `openImapSession(…, 'bounce_imap')`). */
export interface BounceImapSession {
  run<T>(work: (client: ImapFlow) => Promise<T>): Promise<T>;
  end(): Promise<void>;
}

export interface PollDeps extends BounceProcessorDeps {
  config: Pick<Config, 'bounces' | 'redis'>;
  redis: RedisClient;
  log: Logger;
  metrics: BounceMetrics;
  findMailbox(id: string): Promise<Mailbox | undefined>;
  openSession(mailbox: Mailbox): Promise<BounceImapSession>;
}

/** One line per mailbox: what `bounce.poll` logs, what the CLI prints, what the mailbox shows as last_poll_result. */
export interface PollResult {
  mailbox: string;
  fetched: number;
  matched: number;
  rejected: number;
  errors: number;
  ms: number;
  /** the poll did not run: another one of this mailbox holds the lock, or the mailbox has no bounce inbox now */
  skipped?: 'locked' | 'no_bounce_inbox';
  /** the poll could not run or stopped (IMAP or database unreachable) */
  error?: string;
}

export const bounceLockKey = (prefix: string, mailboxId: string) => `${prefix}:bounce-poll:${mailboxId}`;

interface Fetched {
  uid: number;
  /** undefined: no source, or larger than BOUNCE_MAX_BYTES (rejected unread) */
  read: ReadBounce | undefined;
}

/**
 * Poll one mailbox's bounce inbox, holding its lock: SELECT the folder, create Processed-Bounces and
 * Rejected-Bounces when missing, take up to BOUNCE_POLL_MAX_MESSAGES UIDs, fetch them BOUNCE_POLL_BATCH at a time
 * (each at most BOUNCE_MAX_BYTES: a larger one is rejected unread; each read as it arrives, its bytes not kept),
 * decide the batch with one query and write its reports in one transaction, then UID MOVE the batch to the
 * folder of its outcome (imapflow falls back to COPY, \Deleted, UID EXPUNGE without MOVE). A DSN hit by an error
 * (database down) stays where it is for the next poll; a DSN processed before (a poll that died before its move)
 * is recognised by its digest and only moved. LOGOUT in `finally`.
 */
export async function pollMailbox(deps: PollDeps, mailboxId: string): Promise<PollResult> {
  const started = Date.now();
  const result: PollResult = { mailbox: mailboxId, fetched: 0, matched: 0, rejected: 0, errors: 0, ms: 0 };
  const lock = await acquireLock(
    deps.redis,
    bounceLockKey(deps.config.redis.prefix, mailboxId),
    deps.config.bounces.lockMs,
  );
  if (!lock) {
    deps.metrics.polls.inc({ result: 'locked' });
    return { ...result, skipped: 'locked', ms: Date.now() - started };
  }
  try {
    const mailbox = await deps.findMailbox(mailboxId);
    if (mailbox) result.mailbox = mailbox.address;
    if (!mailbox?.bounceImap || !mailbox.isActive) return { ...result, skipped: 'no_bounce_inbox' };
    await pollInbox(deps, mailbox, mailbox.bounceImap.folder, result, () => lock.lost());
  } catch (err) {
    result.error = (err as Error).message.slice(0, 500);
  } finally {
    await lock.release();
    result.ms = Date.now() - started;
    deps.metrics.polls.inc({ result: result.error ? 'error' : 'ok' });
    deps.metrics.pollSeconds.observe(result.ms / 1000);
    deps.log[result.error ? 'warn' : 'info']({ event: 'bounce.poll', mailboxId, ...result });
    if (!result.skipped) {
      const { mailbox: _address, ...shown } = result;
      await recordBouncePoll(deps.db, mailboxId, shown).catch((err: unknown) =>
        deps.log.warn({ event: 'bounce.poll_record_failed', mailboxId, err }),
      );
    }
  }
  return result;
}

async function pollInbox(deps: PollDeps, mailbox: Mailbox, folder: string, result: PollResult, lost: () => boolean) {
  const { pollBatch, pollMaxMessages, maxBytes } = deps.config.bounces;
  const session = await deps.openSession(mailbox);
  try {
    await session.run((c) => c.mailboxOpen(folder));
    await session.run(async (c) => {
      for (const f of [PROCESSED_FOLDER, REJECTED_FOLDER]) await c.mailboxCreate(f); // created: false when it exists
    });
    const found = await session.run((c) => c.search({ deleted: false }, { uid: true }));
    const uids = (found || []).sort((a, b) => a - b).slice(0, pollMaxMessages);
    for (let i = 0; i < uids.length && !lost(); i += pollBatch) {
      const batch = uids.slice(i, i + pollBatch);
      // each DSN is read as it arrives and its bytes let go: the batch holds what the decisions need, at most
      // BOUNCE_POLL_BATCH messages of at most BOUNCE_MAX_BYTES each in flight, never the inbox
      const fetched = await session.run(async (c) => {
        const out: Fetched[] = [];
        for await (const m of c.fetch(
          batch.join(','),
          { uid: true, size: true, source: { maxLength: maxBytes } },
          { uid: true },
        )) {
          const size = m.size ?? 0;
          out.push({
            uid: m.uid,
            read:
              m.source && size <= maxBytes
                ? readBounce(deps, { raw: m.source, source: 'imap', mailboxId: mailbox.id })
                : undefined,
          });
        }
        return out;
      });
      result.fetched += fetched.length;
      deps.metrics.fetched.inc(fetched.length);
      const outcomes = await processReadBounces(
        deps,
        fetched.flatMap((m) => (m.read ? [m.read] : [])),
      );
      const moves = { [PROCESSED_FOLDER]: [] as number[], [REJECTED_FOLDER]: [] as number[] };
      let next = 0;
      for (const m of fetched) {
        const folder = account(deps, mailbox, m.uid, m.read ? outcomes[next++]! : 'too_large', result);
        if (folder) moves[folder].push(m.uid);
      }
      for (const [to, list] of Object.entries(moves)) {
        if (list.length === 0) continue;
        const moved = await session.run((c) => c.messageMove(list.join(','), to, { uid: true }));
        if (!moved)
          deps.log.warn({ event: 'bounce.move_failed', mailboxId: mailbox.id, folder: to, count: list.length });
      }
    }
  } finally {
    await session.end();
  }
}

/** Count and log one DSN's outcome; the folder it goes to, or undefined: it stays (a database error). */
function account(
  deps: PollDeps,
  mailbox: Mailbox,
  uid: number,
  outcome: BounceOutcome | Error | 'too_large',
  result: PollResult,
): typeof PROCESSED_FOLDER | typeof REJECTED_FOLDER | undefined {
  if (outcome instanceof Error) {
    result.errors += 1;
    deps.metrics.errors.inc({ source: 'imap' });
    deps.log.warn({ event: 'bounce.error', source: 'imap', mailboxId: mailbox.id, uid, err: outcome });
    return undefined;
  }
  if (outcome === 'too_large' || outcome.result === 'rejected') {
    const reason = outcome === 'too_large' ? outcome : outcome.reason;
    const outboundMessageId = outcome === 'too_large' ? undefined : outcome.outboundMessageId;
    result.rejected += 1;
    deps.metrics.rejected.inc({ reason, source: 'imap' });
    deps.log.info({ event: 'bounce.rejected', source: 'imap', mailboxId: mailbox.id, uid, reason, outboundMessageId });
    return REJECTED_FOLDER;
  }
  result.matched += 1;
  if (!outcome.duplicate) deps.metrics.matched.inc({ class: outcome.class, source: 'imap' });
  deps.log.info({
    event: 'bounce.matched',
    source: 'imap',
    mailboxId: mailbox.id,
    uid,
    outboundMessageId: outcome.outboundMessageId,
    class: outcome.class,
    duplicate: outcome.duplicate,
  });
  return PROCESSED_FOLDER;
}
