import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Knex } from 'knex';
import type { Principal } from '../access/principal.js';
import { domainOf } from '../core/address.js';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/log.js';
import { within } from '../core/timeout.js';
import type { Metrics } from '../ops/metrics.js';
import { enqueueOutbound } from '../queue/outbound-jobs.js';
import { enqueueWebhookDeliveriesSafely } from '../queue/webhook-jobs.js';
import type { OutboundJob } from '../queue/payloads.js';
import type { Db } from '../store/db.js';
import type { Mailbox } from '../store/mailboxes.js';
import { insertSend, type OutboundStatus } from '../store/outbound.js';
import type { PlanStore } from '../store/plans.js';
import { reserveSendQuota, tokenSendLimit, type QuotaScope } from '../store/send-quota.js';
import { suppressedAmong } from '../store/suppressions.js';
import type { UserStore } from '../store/users.js';
import { recipientKey } from './addresses.js';
import { OutboundMessageTooLarge, SendingNotAllowed, SendingNotConfigured, SendQuotaExceeded } from './errors.js';
import { renderedSizeBound, renderMime } from './render.js';
import type { SendRequest } from './request.js';

export interface AcceptDeps {
  config: Pick<Config, 'outbound' | 'redis'>;
  db: Knex;
  users: Pick<UserStore, 'findById'>;
  plans: Pick<PlanStore, 'get'>;
  queue: Queue<OutboundJob>;
  /** the webhooks queue: the outbound.queued/suppressed deliveries are enqueued after commit (absent: the sweep) */
  webhooks?: Queue;
  log: Logger;
  metrics: Pick<Metrics, 'outboundAccepted'>;
  /** whether connected mailboxes' passwords can be opened (CREDENTIALS_KEY or this machine's key) */
  connectedEnabled: boolean;
}

export interface Accepted {
  message_id: string;
  messages: Array<{ id: string; recipient: string; status: OutboundStatus }>;
}

/** The credential a send is recorded (and a token quota counted) against. */
const credentialOf = (p: Principal) =>
  p.kind === 'token'
    ? { tokenJti: p.jti, apiKeyId: null }
    : { tokenJti: null, apiKeyId: p.kind === 'user' ? p.apiKeyId : null };

/**
 * Accept a checked send request for `mailbox`: refuse what cannot be sent (422 sending_not_configured, 403
 * sending_not_allowed, 413 message_too_large, 429 send_quota_exceeded) with nothing stored; else one transaction
 * writes the content, one row per recipient (`queued`, or `suppressed` for a suppressed recipient: never any SMTP
 * traffic), their first events and, through `inTransaction`, the idempotency record. After the commit one job per
 * queued row enters the `outbound` queue, and each webhook delivery of their events the `webhooks` queue; if Redis
 * refuses, the answer stands and the sweepers add them later.
 */
export async function acceptSend(
  deps: AcceptDeps,
  a: {
    mailbox: Mailbox;
    principal: Principal;
    request: SendRequest;
    inTransaction?: (trx: Db, answer: Accepted) => Promise<void>;
  },
): Promise<Accepted> {
  const { mailbox, request } = a;
  if (mailbox.kind === 'hosted' && !deps.config.outbound.relay)
    throw new SendingNotConfigured(
      'this server has no outbound relay (OUTBOUND_RELAY_URL): hosted mailboxes cannot send',
    );
  if (mailbox.kind === 'connected' && (!mailbox.smtp || !deps.connectedEnabled))
    throw new SendingNotConfigured('this connected mailbox has no SMTP account: add one with PATCH to send');
  const p = a.principal;
  // the owner's plan: the caller's own when it is the owner's API key (no second read of the user)
  const planId =
    p.kind === 'user' && p.userId === mailbox.ownerUserId
      ? p.planId
      : mailbox.ownerUserId
        ? ((await deps.users.findById(mailbox.ownerUserId))?.planId ?? mailbox.planId)
        : mailbox.planId;
  const plan = await deps.plans.get(planId);
  const planLimit = plan ? plan.maxSendsPerDay : 0;
  const cred = credentialOf(a.principal);
  const tokenLimit = cred.tokenJti ? await tokenSendLimit(deps.db, cred.tokenJti) : null;
  if (planLimit === 0 || tokenLimit === 0)
    throw new SendingNotAllowed(`${planLimit === 0 ? 'this plan' : 'this token'} does not allow sending`);

  const sendId = randomUUID();
  const date = new Date(Math.floor(Date.now() / 1000) * 1000); // the Date header has whole seconds
  const messageId = `<${sendId}@${domainOf(mailbox.address)}>`;
  const send = {
    id: sendId,
    mailboxId: mailbox.id,
    ownerUserId: mailbox.ownerUserId,
    messageId,
    date,
    fromName: request.fromName,
    replyTo: request.replyTo,
    to: request.to,
    cc: request.cc,
    subject: request.subject,
    text: request.text,
    html: request.html,
    headers: request.headers,
    attachments: request.attachments,
    stream: request.stream,
    trackOpens: request.trackOpens,
    trackClicks: request.trackClicks,
    ...cred,
  };
  // the size of what the worker will build (tracking may add a few hundred bytes per link): built here only when
  // a cheap upper bound is over the limit, so an ordinary send costs no MIME build at accept time
  const limit = deps.config.outbound.maxMessageBytes;
  if (renderedSizeBound(send, mailbox.address) > limit) {
    const built = await renderMime(send, { from: mailbox.address });
    if (built.length > limit)
      throw new OutboundMessageTooLarge(
        `the built message is ${built.length} bytes; at most ${limit} (OUTBOUND_MAX_MESSAGE_BYTES)`,
      );
  }

  let webhookDeliveries: string[] = [];
  const answer = await deps.db.transaction(async (trx) => {
    const suppressed = await suppressedAmong(
      trx,
      mailbox.id,
      request.recipients.map((r) => r.address),
    );
    const recipients = request.recipients.map((r) => ({
      ...r,
      id: randomUUID(),
      suppressed: suppressed.has(recipientKey(r.address)),
    }));
    const counted = recipients.filter((r) => !r.suppressed).length;
    const scopes: QuotaScope[] = [
      mailbox.ownerUserId
        ? { kind: 'owner', id: mailbox.ownerUserId, limit: planLimit }
        : { kind: 'mailbox', id: mailbox.id, limit: planLimit },
      ...(cred.tokenJti ? [{ kind: 'token' as const, id: cred.tokenJti, limit: tokenLimit }] : []),
    ];
    webhookDeliveries = await insertSend(trx, { ...send, recipients });
    const accepted: Accepted = {
      message_id: messageId,
      messages: recipients.map((r) => ({
        id: r.id,
        recipient: r.address,
        status: r.suppressed ? 'suppressed' : 'queued',
      })),
    };
    await a.inTransaction?.(trx, accepted);
    // last, after this request's rows are written: the quota's lock is held only for its count and the commit
    const quota = counted > 0 ? await reserveSendQuota(trx, scopes, counted) : ({ ok: true } as const);
    if (!quota.ok)
      throw new SendQuotaExceeded(
        `the ${quota.scope === 'token' ? "token's" : "plan's"} daily send quota is used up`,
        quota.retryAfterS,
      );
    return accepted;
  });

  const queued = answer.messages.filter((m) => m.status === 'queued');
  deps.metrics.outboundAccepted.inc({ status: 'queued' }, queued.length);
  if (queued.length < answer.messages.length)
    deps.metrics.outboundAccepted.inc({ status: 'suppressed' }, answer.messages.length - queued.length);
  // never rejects: a delivery Redis did not take is re-added by the webhooks scheduler
  const webhooksAdded = enqueueWebhookDeliveriesSafely(
    deps.webhooks,
    webhookDeliveries,
    deps.log,
    deps.config.redis.enqueueTimeoutMs,
  );
  try {
    await within(
      enqueueOutbound(
        deps.queue,
        queued.map((m) => ({ id: m.id, stream: request.stream })),
      ),
      deps.config.redis.enqueueTimeoutMs,
    );
  } catch (err) {
    // committed: the 202 stands, the sweeper adds these jobs once Redis answers
    deps.log.warn({ event: 'outbound.enqueue_failed', sendId, count: queued.length, err });
  }
  await webhooksAdded;
  deps.log.info({
    event: 'outbound.accepted',
    sendId,
    mailboxId: mailbox.id,
    queued: queued.length,
    suppressed: answer.messages.length - queued.length,
    stream: request.stream,
  });
  return answer;
}
