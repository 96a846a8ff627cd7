import type Router from '@koa/router';
import type { Knex } from 'knex';
import type { Context } from 'koa';
import { z } from 'zod';
import { mailboxFor } from '../../access/principal.js';
import type { Config } from '../../core/config.js';
import { AppError, BadRequest, Conflict, NotFound } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { onlyParams, positiveInt } from '../../core/params.js';
import { open, seal, type KeyRing } from '../../core/secret-box.js';
import { checkWebhookUrl } from '../../core/webhook-url.js';
import type { Mailbox } from '../../store/mailboxes.js';
import type { Stores } from '../../store/index.js';
import type { Queues } from '../../queue/producers.js';
import { enqueueWebhookDeliveriesSafely, enqueueWebhookDeliveryNow } from '../../queue/webhook-jobs.js';
import { recordEvent, WEBHOOK_EVENT_TYPES } from '../../store/events.js';
import {
  findDelivery,
  listDeliveries,
  recoverFailed,
  requeueDelivery,
  type DeliveryStatus,
} from '../../store/webhook-deliveries.js';
import {
  deleteWebhook,
  findWebhook,
  putWebhook,
  rotateWebhookSecret,
  webhookSecretAad,
  type Webhook,
} from '../../store/webhooks.js';
import { newWebhookSecret } from '../../webhooks/signing.js';
import { webhookBody } from '../../webhooks/payload.js';
import { principalOf } from '../auth.js';
import { expectNoBody, readJson } from '../body.js';
import { presentDelivery, presentDeliveryFull, presentWebhook } from '../present-webhooks.js';
import { newRouter } from '../router.js';

export interface WebhookRouteDeps {
  config: Config;
  db: Knex;
  stores: Stores;
  log: Logger;
  queues: Pick<Queues, 'webhooks'>;
  /** seals webhook secrets (CREDENTIALS_KEY); undefined: webhooks are off (501 webhooks_disabled) */
  credentials?: KeyRing;
}

/** Production without CREDENTIALS_KEY: secrets cannot be stored sealed, so there are no webhooks. */
export class WebhooksDisabled extends AppError {
  readonly code = 'webhooks_disabled';
  override readonly status = 501;
}

const PutWebhook = z.strictObject({
  url: z.string(),
  events: z
    .array(z.enum(WEBHOOK_EVENT_TYPES.filter((t) => t !== 'webhook.test') as [string, ...string[]]))
    .min(1)
    .optional(),
});
const Rotate = z.strictObject({ keep_previous_minutes: z.number().int().min(0).max(1440).optional() });
const Recover = z.strictObject({ since: z.iso.datetime({ offset: true }) });

const DELIVERY_STATUSES: DeliveryStatus[] = ['pending', 'sending', 'delivered', 'failed'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DEFAULT_PAGE = 50;
const RECOVER_MAX = 10_000;

const notFound = () => new NotFound('this mailbox has no webhook', 'webhook_not_found');
const disabled = () => new Conflict('the webhook is disabled; PUT it again to enable it', 'webhook_disabled');

/**
 * The mailbox's webhook (docs/webhooks.md): PUT/GET/DELETE, test, rotate-secret, deliveries (list, one, retry)
 * and recover. Changes need `manage`, reads `read`; another tenant's mailbox is a 404, an ended one a 410.
 */
export function webhookRoutes(deps: WebhookRouteDeps): Router {
  const router = newRouter('/api/v1/mailboxes/:address/webhook');
  const ring = () => {
    if (!deps.credentials)
      throw new WebhooksDisabled('webhooks need CREDENTIALS_KEY (their secrets are stored encrypted)');
    return deps.credentials;
  };
  const mailbox = (ctx: Context, permission: 'read' | 'manage') =>
    mailboxFor(principalOf(ctx), deps.stores, ctx.params.address, permission, { connected: true });
  const webhookOf = async (m: Mailbox): Promise<Webhook> => (await findWebhook(deps.db, m.id)) ?? throwIt(notFound());
  const enqueue = (ids: string[]) =>
    enqueueWebhookDeliveriesSafely(deps.queues.webhooks, ids, deps.log, deps.config.redis.enqueueTimeoutMs);

  router.put('/', async (ctx) => {
    onlyParams(ctx.query, []);
    const keys = ring();
    const body = await readJson(ctx, PutWebhook);
    const m = await mailbox(ctx, 'manage');
    const checked = await checkWebhookUrl(body.url, deps.config.webhooks.allowHosts);
    const secret = newWebhookSecret();
    const { webhook, created } = await putWebhook(deps.db, {
      mailboxId: m.id,
      url: checked.url.href,
      eventTypes: body.events ? [...new Set(body.events)] : null,
      seal: (id) => seal(keys, secret, webhookSecretAad('secret_encrypted', id)),
    });
    deps.log.info({ event: created ? 'webhook.created' : 'webhook.replaced', mailboxId: m.id, webhookId: webhook.id });
    ctx.status = created ? 201 : 200;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = created ? { ...presentWebhook(webhook), secret } : presentWebhook(webhook);
  });

  router.get('/', async (ctx) => {
    onlyParams(ctx.query, []);
    ctx.body = presentWebhook(await webhookOf(await mailbox(ctx, 'read')));
  });

  router.delete('/', async (ctx) => {
    onlyParams(ctx.query, []);
    const m = await mailbox(ctx, 'manage');
    if (!(await deleteWebhook(deps.db, m.id))) throw notFound();
    deps.log.info({ event: 'webhook.deleted', mailboxId: m.id });
    ctx.status = 204;
  });

  router.post('/test', async (ctx) => {
    onlyParams(ctx.query, []);
    await expectNoBody(ctx);
    const m = await mailbox(ctx, 'manage');
    const w = await webhookOf(m);
    if (w.status !== 'enabled') throw disabled();
    const recorded = await recordEvent(deps.db, {
      mailboxId: m.id,
      mailboxAddress: m.address,
      type: 'webhook.test',
      occurredAt: new Date(),
      data: { message: 'This is a test event from Mailwright.' },
    });
    if (recorded?.enqueue && recorded.deliveryId) await enqueue([recorded.deliveryId]);
    ctx.status = 202;
    ctx.body = { event_id: recorded?.eventId ?? null, delivery_id: recorded?.deliveryId ?? null };
  });

  router.post('/rotate-secret', async (ctx) => {
    onlyParams(ctx.query, []);
    const keys = ring();
    const body = await readJson(ctx, Rotate);
    const m = await mailbox(ctx, 'manage');
    const w = await webhookOf(m);
    const secret = newWebhookSecret();
    const previous = open(keys, w.secretSealed, webhookSecretAad('secret_encrypted', w.id));
    const previousExpiresAt = new Date(Date.now() + (body.keep_previous_minutes ?? 1440) * 60_000);
    await rotateWebhookSecret(deps.db, w.id, {
      secret: seal(keys, secret, webhookSecretAad('secret_encrypted', w.id)),
      previous: seal(keys, previous, webhookSecretAad('previous_secret_encrypted', w.id)),
      previousExpiresAt,
    });
    deps.log.info({ event: 'webhook.secret_rotated', mailboxId: m.id, webhookId: w.id });
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { secret, previous_secret_expires_at: previousExpiresAt.toISOString().replace(/\.\d{3}Z$/, '+00:00') };
  });

  router.get('/deliveries', async (ctx) => {
    onlyParams(ctx.query, ['status', 'limit', 'cursor']);
    const status = statusParam(ctx.query.status);
    const limit = positiveInt(ctx.query.limit, 'limit', { max: deps.config.api.messagePageMax }) ?? DEFAULT_PAGE;
    const cursor = ctx.query.cursor;
    if (cursor !== undefined && (typeof cursor !== 'string' || !UUID.test(cursor)))
      throw new BadRequest(
        'cursor is not a valid cursor (pass the X-Next-Cursor of the previous page)',
        'invalid_cursor',
      );
    const w = await webhookOf(await mailbox(ctx, 'read'));
    const rows = await listDeliveries(deps.db, w.id, { status, limit, cursor });
    if (rows.length === limit) ctx.set('X-Next-Cursor', rows[rows.length - 1]!.id);
    ctx.body = rows.map(presentDelivery);
  });

  router.get('/deliveries/:id', async (ctx) => {
    onlyParams(ctx.query, []);
    const w = await webhookOf(await mailbox(ctx, 'read'));
    const d = UUID.test(ctx.params.id) ? await findDelivery(deps.db, w.id, ctx.params.id) : undefined;
    if (!d) throw new NotFound('no such delivery', 'delivery_not_found');
    ctx.body = presentDeliveryFull(d, JSON.parse(webhookBody(d.event)));
  });

  router.post('/deliveries/:id/retry', async (ctx) => {
    onlyParams(ctx.query, []);
    await expectNoBody(ctx);
    const w = await webhookOf(await mailbox(ctx, 'manage'));
    if (!UUID.test(ctx.params.id) || !(await findDelivery(deps.db, w.id, ctx.params.id)))
      throw new NotFound('no such delivery', 'delivery_not_found');
    if (w.status !== 'enabled') throw disabled();
    if (!(await requeueDelivery(deps.db, w.id, ctx.params.id)))
      throw new Conflict('this delivery is being sent right now', 'delivery_in_progress');
    await enqueueWebhookDeliveryNow(deps.queues.webhooks, ctx.params.id).catch((err: unknown) =>
      deps.log.warn({ event: 'webhook.enqueue_failed', deliveries: 1, err }),
    );
    ctx.status = 202;
    ctx.body = { id: ctx.params.id, status: 'pending' };
  });

  router.post('/recover', async (ctx) => {
    onlyParams(ctx.query, []);
    const body = await readJson(ctx, Recover);
    const w = await webhookOf(await mailbox(ctx, 'manage'));
    if (w.status !== 'enabled') throw disabled();
    const ids = await recoverFailed(deps.db, w.id, new Date(body.since), RECOVER_MAX);
    await enqueue(ids);
    ctx.status = 202;
    ctx.body = { requeued: ids.length };
  });

  return router;
}

function throwIt(err: Error): never {
  throw err;
}

function statusParam(value: unknown): DeliveryStatus[] | undefined {
  if (value === undefined) return undefined;
  const parts = typeof value === 'string' ? value.split(',').map((s) => s.trim()) : [];
  if (parts.length === 0 || parts.some((p) => !DELIVERY_STATUSES.includes(p as DeliveryStatus)))
    throw new BadRequest(`status must be a comma-separated list of ${DELIVERY_STATUSES.join(', ')}`, 'invalid_status');
  return parts as DeliveryStatus[];
}
