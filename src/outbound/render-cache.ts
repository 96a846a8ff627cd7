import type { Db } from '../store/db.js';
import { loadSend, type OutboundToSend } from '../store/outbound-delivery.js';
import { renderMime, type HtmlContext } from './render.js';

export interface RenderCache {
  /** the MIME bytes of this recipient's copy */
  get(row: OutboundToSend): Promise<Buffer>;
}

/**
 * Renders copies, keeping the last `maxEntries` untracked renders of at most `maxEntryBytes` (every recipient of
 * a send gets the same bytes, so a 50-recipient send is read and built once). A tracked copy (issue 22's
 * `transformHtml`) differs per recipient and is never cached.
 */
export function createRenderCache(
  db: Db,
  opts: {
    transformHtml?: (html: string, ctx: HtmlContext) => string;
    maxEntries?: number;
    maxEntryBytes?: number;
  } = {},
): RenderCache {
  const maxEntries = opts.maxEntries ?? 64;
  const maxEntryBytes = opts.maxEntryBytes ?? 256 * 1024;
  const cache = new Map<string, Buffer>();
  return {
    async get(row) {
      const tracked = row.trackOpens || row.trackClicks;
      const key = `${row.sendId}|${row.mailbox.address}`;
      const hit = tracked ? undefined : cache.get(key);
      if (hit) return hit;
      const send = await loadSend(db, row.sendId);
      if (!send) throw new Error(`outbound send ${row.sendId} is gone`);
      const raw = await renderMime(send, {
        from: row.mailbox.address,
        transformHtml: opts.transformHtml,
        tracking: {
          enabled: tracked,
          ctx: {
            outboundMessageId: row.id,
            sendId: row.sendId,
            trackOpens: row.trackOpens,
            trackClicks: row.trackClicks,
          },
        },
      });
      if (!tracked && raw.length <= maxEntryBytes) {
        cache.set(key, raw);
        if (cache.size > maxEntries) cache.delete(cache.keys().next().value as string);
      }
      return raw;
    },
  };
}
