import type { Db } from './db.js';
import { preparedQuery } from './prepared.js';

export type Permission = 'read' | 'send' | 'manage';

export interface AgentToken {
  id: string;
  jti: string;
  mailboxId: string;
  userId: string | null;
  name: string | null;
  permissions: Permission[];
  expiresAt: Date;
  isRevoked: boolean;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
  createdAt: Date;
  /** the token's own rolling 24 h cap of accepted recipients (outbound); null: only the plan's */
  maxSendsPerDay: number | null;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const toToken = (r: any): AgentToken => ({
  id: r.id,
  jti: r.jti,
  mailboxId: r.mailbox_id,
  userId: r.user_id,
  name: r.name,
  permissions: r.permissions,
  expiresAt: r.expires_at,
  isRevoked: r.is_revoked,
  revokedAt: r.revoked_at,
  lastUsedAt: r.last_used_at,
  createdAt: r.created_at,
  maxSendsPerDay: r.max_sends_per_day ?? null,
});

/** The columns toToken reads, named (a prepared `select *` would break when a migration adds one). */
const TOKEN_COLUMNS =
  'id, jti, mailbox_id, user_id, name, permissions, expires_at, is_revoked, revoked_at, last_used_at, created_at, max_sends_per_day';
// every request or stream connect with a mailbox token makes this lookup: prepared, no query builder
const BY_JTI = `select ${TOKEN_COLUMNS} from agent_tokens where jti = $1 limit 1`;

export interface TokenStore {
  insert(t: {
    jti: string;
    mailboxId: string;
    userId: string | null;
    name: string | null;
    permissions: Permission[];
    expiresAt: Date;
    /** the token's own daily send cap (outbound); null/undefined: only the plan's */
    maxSendsPerDay?: number | null;
  }): Promise<AgentToken>;
  findByJti(jti: string): Promise<AgentToken | undefined>;
  listByMailbox(mailboxId: string): Promise<AgentToken[]>;
  revoke(mailboxId: string, jti: string): Promise<boolean>;
  /** tokens of a mailbox that are neither revoked nor expired */
  countActive(mailboxId: string): Promise<number>;
  /** record use, at most one write a minute per token */
  touch(jti: string): Promise<void>;
}

export function tokenStore(db: Db): TokenStore {
  return {
    async insert(t) {
      const [row] = await db('agent_tokens')
        .insert({
          jti: t.jti,
          mailbox_id: t.mailboxId,
          user_id: t.userId,
          name: t.name,
          permissions: JSON.stringify(t.permissions),
          expires_at: t.expiresAt,
          max_sends_per_day: t.maxSendsPerDay ?? null,
        })
        .returning('*');
      return toToken(row);
    },
    async findByJti(jti) {
      const [row] = await preparedQuery(db, 'mw_token_by_jti', BY_JTI, [jti]);
      return row ? toToken(row) : undefined;
    },
    async listByMailbox(mailboxId) {
      return (await db('agent_tokens').where({ mailbox_id: mailboxId }).orderBy('created_at', 'asc')).map(toToken);
    },
    async revoke(mailboxId, jti) {
      const n = await db('agent_tokens')
        .where({ mailbox_id: mailboxId, jti, is_revoked: false })
        .update({ is_revoked: true, revoked_at: db.fn.now() });
      return n === 1;
    },
    async countActive(mailboxId) {
      const [row] = await db('agent_tokens')
        .where({ mailbox_id: mailboxId, is_revoked: false })
        .andWhere('expires_at', '>', db.fn.now())
        .count<{ n: string }[]>({ n: '*' });
      return Number(row?.n ?? 0);
    },
    async touch(jti) {
      await db('agent_tokens')
        .where({ jti })
        .andWhere(
          (w) => void w.whereNull('last_used_at').orWhere('last_used_at', '<', db.raw(`now() - interval '1 minute'`)),
        )
        .update({ last_used_at: db.fn.now() });
    },
  };
}
