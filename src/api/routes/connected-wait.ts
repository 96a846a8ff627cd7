import type { Context } from 'koa';
import { inboxCursorParam, searchInbox, WATCHED_FOLDER } from '../../connected/inbox-feed.js';
import { folderParam } from '../../connected/message-ref.js';
import { withImap, type BridgeDeps } from '../../connected/session.js';
import { BadRequest } from '../../core/errors.js';
import { onlyParams } from '../../core/params.js';
import type { Mailbox } from '../../store/mailboxes.js';
import type { TextMatch } from '../../store/message-search.js';
import type { StreamPrincipal } from '../../stream/credential.js';
import type { Hub } from '../../stream/hub.js';
import { waitForMatch } from '../../stream/wait.js';
import { parseWaitRequest, WAIT_PARAMS } from '../../stream/wait-filter.js';

/** A text filter as IMAP SEARCH can take it: a substring (a regular expression would run in this process). */
function substring(m: TextMatch | undefined, name: string): string | undefined {
  if (!m) return undefined;
  if (m.kind === 'substring') return m.value;
  throw new BadRequest(
    `${name} as a regular expression applies to hosted mailboxes only: give a substring`,
    'regex_not_supported',
  );
}

export interface ConnectedWaitDeps extends BridgeDeps {
  hub: Hub;
  config: BridgeDeps['config'];
}

/**
 * `GET …/messages?wait=&subject=&from=&since=&unread=&limit=` on a connected mailbox: the hosted wait
 * (stream/wait.ts) with its search on the INBOX over IMAP. It subscribes to the mailbox's channel (the worker's
 * watcher publishes each new UID there) BEFORE its first search, then searches again on each new message and once
 * at the deadline, so nothing that arrives meanwhile is missed. `since` is a cursor `<uidvalidity>.<uid>` (a stream's
 * or the previous answer's `X-Cursor`); `subject` and `from` are substrings (a regular expression: 400
 * `regex_not_supported`); `tag` does not apply (400 `tag_not_applicable`); `folder` may only be INBOX (400
 * `wait_inbox_only`). Each search is one IMAP session (LOGOUT on every path).
 */
export async function connectedWait(
  ctx: Context,
  deps: ConnectedWaitDeps,
  m: Mailbox,
  waiter: StreamPrincipal | undefined,
  signal: AbortSignal,
): Promise<void> {
  onlyParams(ctx.query, [...WAIT_PARAMS, 'folder']);
  if (folderParam(ctx.query.folder) !== WATCHED_FOLDER)
    throw new BadRequest(
      'wait and its filters apply to INBOX only (the folder the watcher follows)',
      'wait_inbox_only',
    );
  if (ctx.query.tag !== undefined) throw new BadRequest('tag applies to hosted mailboxes only', 'tag_not_applicable');
  const since = inboxCursorParam(ctx.query.since, 'since');
  const { folder: _folder, since: _since, ...rest } = ctx.query;
  const { waitSeconds, filter } = parseWaitRequest(rest, {
    maxSeconds: deps.config.wait.maxSeconds,
    filterMaxLength: deps.config.wait.filterMaxLength,
    pageMax: deps.config.api.messagePageMax,
  });
  const inboxFilter = {
    subject: substring(filter.subject, 'subject'),
    from: substring(filter.from, 'from'),
    since,
    unreadOnly: filter.unreadOnly,
    limit: filter.limit,
  };
  const items = await waitForMatch({
    hub: deps.hub,
    mailboxId: m.id,
    seconds: waitSeconds,
    listenWaitMs: deps.config.streams.subscribeWaitMs,
    signal,
    principal: waiter,
    mailboxExpiresAt: null,
    search: () => withImap(deps, m, (client) => searchInbox(client, inboxFilter)),
  });
  // the highest UID among the matches (they are highest first): the next wait's `since`
  if (items.length) ctx.set('X-Cursor', items[0]!.cursor);
  ctx.body = items.map((i) => i.message);
}
