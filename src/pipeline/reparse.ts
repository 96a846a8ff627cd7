import type { Config } from '../core/config.js';
import type { Db } from '../store/db.js';
import { findParseFailures, replaceParsed } from '../store/message-reparse.js';
import { parseRaw } from './parse.js';

export interface ReparseFilter {
  mailboxId?: string;
  since?: Date;
}

export interface ReparseCounts {
  /** stored parse failures looked at */
  scanned: number;
  /** parsed now: text, HTML, codes, links and attachments restored, parse_error cleared */
  reparsed: number;
  /** the parser still gives up (kept as they are) */
  still_failing: number;
  /** parsed, but the database refused the new fields (kept as they are) */
  failed: number;
}

/**
 * Re-parse stored parse failures (`npm run cli -- messages:reparse`): one message at a time, so each parse has the
 * thread to itself, under PARSE_RETRY_TIMEOUT_MS. A message that parses now gets its parsed columns (and its
 * attachments' places) written over the fallback's; one that still fails is left as it is. Idempotent: a message
 * fixed by an earlier or a concurrent run is no longer a parse failure and is not touched again.
 */
export async function reparseStored(
  deps: { db: Db; config: Pick<Config, 'worker' | 'extract' | 'parse'> },
  filter: ReparseFilter,
  onMessage?: (id: string, outcome: 'reparsed' | 'still_failing' | 'failed', reason?: string) => void,
): Promise<ReparseCounts> {
  const { db, config } = deps;
  const counts: ReparseCounts = { scanned: 0, reparsed: 0, still_failing: 0, failed: 0 };
  let afterId: string | undefined;
  for (;;) {
    // a small page: each row carries its raw bytes (up to MAX_MESSAGE_BYTES)
    const page = await findParseFailures(db, { ...filter, afterId, limit: 20 });
    if (page.length === 0) return counts;
    for (const m of page) {
      counts.scanned++;
      const parsed = await parseRaw(m.raw, config.worker.parseRetry.timeoutMs, config.extract, config.parse);
      if (parsed.parseError !== null) {
        counts.still_failing++;
        onMessage?.(m.id, 'still_failing', parsed.parseError);
        continue;
      }
      try {
        if (await replaceParsed(db, m.mailboxId, m.id, parsed)) counts.reparsed++;
        onMessage?.(m.id, 'reparsed');
      } catch (err) {
        counts.failed++;
        onMessage?.(m.id, 'failed', (err as Error).message);
      }
    }
    afterId = page[page.length - 1]!.id;
  }
}
