import type { MaintenanceDeps } from './context.js';

export interface PurgeResult {
  mailboxes: number;
  messages: number;
  statements: number;
  ms: number;
}

/**
 * Deferred cleanup: mailboxes inactive for longer than MAILBOX_RETENTION_MS are deleted with their
 * messages. Everything goes in bounded batches (PURGE_BATCH_SIZE rows per statement, each statement
 * its own short transaction), so no lock is held for long and no large result is ever loaded.
 * Messages go first, then the mailbox rows (their agent tokens cascade).
 */
export async function purgeInactive(deps: MaintenanceDeps, opts: { maxRounds?: number } = {}): Promise<PurgeResult> {
  const { retentionMs, purgeBatchSize: batch } = deps.config.lifecycle;
  const started = Date.now();
  const total: PurgeResult = { mailboxes: 0, messages: 0, statements: 0, ms: 0 };
  for (let round = 0; round < (opts.maxRounds ?? Number.POSITIVE_INFINITY); round++) {
    const ids = await deps.lifecycle.purgeCandidates(retentionMs, batch);
    total.statements++;
    if (!ids.length) break;
    for (;;) {
      const n = await deps.lifecycle.deleteMessagesOf(ids, batch);
      total.statements++;
      total.messages += n;
      if (n < batch) break;
    }
    const deleted = await deps.lifecycle.deleteMailboxes(ids, retentionMs);
    total.mailboxes += deleted;
    total.statements++;
    if (ids.length < batch || deleted === 0) break; // deleted === 0: never spin on rows we cannot delete
  }
  total.ms = Date.now() - started;
  if (total.mailboxes || total.messages) deps.log.info({ event: 'lifecycle.purged', ...total });
  return total;
}
