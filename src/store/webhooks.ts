import { randomUUID } from 'node:crypto';
import type { Db } from './db.js';

/**
 * `mailbox_webhooks`: one endpoint per mailbox. Its secrets are sealed by the caller (core/secret-box.ts) with
 * `webhookSecretAad(column, id)`; this store never sees a secret in clear.
 */
export type SecretColumn = 'secret_encrypted' | 'previous_secret_encrypted';
export const webhookSecretAad = (column: SecretColumn, webhookId: string) => `mailbox_webhooks.${column}:${webhookId}`;

export interface Webhook {
  id: string;
  mailboxId: string;
  url: string;
  /** null: every type */
  eventTypes: string[] | null;
  secretSealed: Buffer;
  previousSecretSealed: Buffer | null;
  previousSecretExpiresAt: Date | null;
  status: 'enabled' | 'disabled';
  disabledReason: 'gone' | 'failing' | null;
  disabledAt: Date | null;
  failingSince: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface WebhookRow {
  id: string;
  mailbox_id: string;
  url: string;
  event_types: string[] | null;
  secret_encrypted: Buffer;
  previous_secret_encrypted: Buffer | null;
  previous_secret_expires_at: Date | null;
  status: 'enabled' | 'disabled';
  disabled_reason: 'gone' | 'failing' | null;
  disabled_at: Date | null;
  failing_since: Date | null;
  created_at: Date;
  updated_at: Date;
}

export const toWebhook = (r: WebhookRow): Webhook => ({
  id: r.id,
  mailboxId: r.mailbox_id,
  url: r.url,
  eventTypes: r.event_types,
  secretSealed: r.secret_encrypted,
  previousSecretSealed: r.previous_secret_encrypted,
  previousSecretExpiresAt: r.previous_secret_expires_at,
  status: r.status,
  disabledReason: r.disabled_reason,
  disabledAt: r.disabled_at,
  failingSince: r.failing_since,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export async function findWebhook(db: Db, mailboxId: string): Promise<Webhook | undefined> {
  const row: WebhookRow | undefined = await db('mailbox_webhooks').where({ mailbox_id: mailboxId }).first();
  return row && toWebhook(row);
}

export async function findWebhookById(db: Db, id: string): Promise<Webhook | undefined> {
  const row: WebhookRow | undefined = await db('mailbox_webhooks').where({ id }).first();
  return row && toWebhook(row);
}

/**
 * Create the mailbox's webhook, or replace its URL and types (keeping its secrets) and re-enable it. `seal`
 * seals the new secret for the id it is given; a replace discards that (the stored secret stays).
 */
export async function putWebhook(
  db: Db,
  p: { mailboxId: string; url: string; eventTypes: string[] | null; seal: (webhookId: string) => Buffer },
): Promise<{ webhook: Webhook; created: boolean }> {
  const id = randomUUID();
  const { rows }: { rows: Array<WebhookRow & { created: boolean }> } = await db.raw(
    `insert into mailbox_webhooks (id, mailbox_id, url, event_types, secret_encrypted)
     values (?, ?, ?, ?::text[], ?)
     on conflict (mailbox_id) do update set url = excluded.url, event_types = excluded.event_types,
       status = 'enabled', disabled_reason = null, disabled_at = null, failing_since = null, updated_at = now()
     returning *, (xmax = 0) as created`,
    [id, p.mailboxId, p.url, p.eventTypes, p.seal(id)],
  );
  const row = rows[0]!;
  return { webhook: toWebhook(row), created: row.created };
}

/** Delete the mailbox's webhook; its deliveries go with it (pending ones stop). */
export async function deleteWebhook(db: Db, mailboxId: string): Promise<boolean> {
  return (await db('mailbox_webhooks').where({ mailbox_id: mailboxId }).delete()) > 0;
}

/** A new current secret; the old one (re-sealed for its column) stays valid until `previousExpiresAt`. */
export async function rotateWebhookSecret(
  db: Db,
  id: string,
  p: { secret: Buffer; previous: Buffer; previousExpiresAt: Date },
): Promise<Webhook | undefined> {
  const [row]: WebhookRow[] = await db('mailbox_webhooks')
    .where({ id })
    .update({
      secret_encrypted: p.secret,
      previous_secret_encrypted: p.previous,
      previous_secret_expires_at: p.previousExpiresAt,
      updated_at: db.fn.now(),
    })
    .returning('*');
  return row && toWebhook(row);
}

/**
 * Disable a webhook (410 gone, or failing for WEBHOOK_DISABLE_AFTER_MS): its pending deliveries fail at once.
 * True when this call disabled it.
 */
export async function disableWebhook(db: Db, id: string, reason: 'gone' | 'failing'): Promise<boolean> {
  const { rows }: { rows: Array<{ n: number }> } = await db.raw(
    `with w as (
       update mailbox_webhooks set status = 'disabled', disabled_reason = ?, disabled_at = now(), updated_at = now()
       where id = ? and status = 'enabled' returning id
     ), d as (
       update webhook_deliveries set status = 'failed', next_attempt_at = null, last_error = 'webhook disabled'
       where webhook_id in (select id from w) and status = 'pending'
       returning id
     ) select (select count(*) from w)::int as n`,
    [reason, id],
  );
  return rows[0]!.n === 1;
}
