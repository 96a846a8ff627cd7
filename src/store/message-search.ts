import type { Knex } from 'knex';
import { BadRequest } from '../core/errors.js';
import type { Db } from './db.js';
import { SUMMARY_COLUMNS, toSummary, type MessageSummary } from './messages.js';

/** A text filter: case-insensitive substring, or a Postgres regular expression (matched case-insensitively). */
export type TextMatch = { kind: 'substring'; value: string } | { kind: 'regex'; source: string };

/** What a wait searches for (src/stream/wait-filter.ts parses it from the query string). */
export interface WaitFilter {
  subject?: TextMatch;
  from?: TextMatch;
  /** only messages committed after this cursor */
  afterSeq?: number;
  unreadOnly: boolean;
  /** only messages with this tag (`box+tag@…`) */
  tag?: string;
  limit: number;
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

function where(q: Knex.QueryBuilder, column: string, m: TextMatch | undefined) {
  if (!m) return;
  if (m.kind === 'substring')
    q.andWhereRaw(`coalesce(??, '') ilike ? escape '\\'`, [column, `%${escapeLike(m.value)}%`]);
  else q.andWhereRaw(`coalesce(??, '') ~* ?`, [column, m.source]);
}

/**
 * Messages of a mailbox matching a wait filter, newest first. Regular expressions run in Postgres
 * (an automaton engine, no catastrophic backtracking) under a statement time limit.
 */
export async function searchMessages(
  db: Db,
  mailboxId: string,
  f: WaitFilter,
  opts: { regexTimeoutMs: number },
): Promise<MessageSummary[]> {
  const q = db('messages')
    .where({ mailbox_id: mailboxId })
    .select(SUMMARY_COLUMNS)
    // newest received first, like the plain list (commit order breaks ties)
    .orderBy([
      { column: 'received_at', order: 'desc' },
      { column: 'seq', order: 'desc' },
    ])
    .limit(f.limit);
  if (f.afterSeq !== undefined) q.andWhere('seq', '>', f.afterSeq);
  if (f.unreadOnly) q.andWhere('is_read', false);
  if (f.tag !== undefined) q.andWhere('tag', f.tag);
  where(q, 'subject', f.subject);
  where(q, 'from_address', f.from);
  const regex = f.subject?.kind === 'regex' || f.from?.kind === 'regex';
  try {
    if (!regex) return (await q).map(toSummary);
    // A regex search runs under statement_timeout (SET LOCAL, in a transaction of its own): Postgres stops the query
    // itself (57014) on its own connection. Cancelling by backend pid from another connection is wrong behind
    // PgBouncer, where that pid is a server connection the pooler may already have given to another client.
    return await db.transaction(async (trx) => {
      await trx.raw(`select set_config('statement_timeout', ?, true)`, [String(Math.ceil(opts.regexTimeoutMs))]);
      return (await q.transacting(trx)).map(toSummary);
    });
  } catch (err) {
    const e = err as { code?: string; name?: string };
    if (e.code === '2201B')
      throw new BadRequest('the regular expression is not valid here (Postgres syntax)', 'invalid_regex');
    if (regex && (e.name === 'KnexTimeoutError' || e.code === '57014'))
      throw new BadRequest('the regular expression is too expensive', 'regex_too_expensive');
    throw err;
  }
}
