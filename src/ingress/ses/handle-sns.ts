import { createHash } from 'node:crypto';
import type { Config } from '../../core/config.js';
import { BadRequest, Forbidden, Unavailable } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { Metrics } from '../../ops/metrics.js';
import type { InboundQueues } from '../../queue/producers.js';
import { enqueueInbound } from '../enqueue.js';
import { interpretReceipt } from './ses-receipt.js';
import type { SnsFetch, SnsVerifier } from './sns-verifier.js';
import { asSnsMessage, SnsRejected, subscribeUrl, type SnsMessage } from './verify-sns.js';

export interface SnsHandlerDeps {
  config: Pick<Config, 'mail' | 'redis'>;
  log: Logger;
  metrics: Pick<Metrics, 'sesNotifications' | 'enqueued'>;
  inbound: InboundQueues;
  verifier: SnsVerifier;
  fetch: SnsFetch;
}

export interface SnsReply {
  status: number;
  body: Record<string, unknown>;
}

/**
 * The ingress id (and BullMQ job id) of a notification: derived from the SNS MessageId, which SNS keeps
 * across retries, so redeliveries collapse onto one job and one stored row. No ':' (BullMQ forbids it).
 */
export const ingressIdOf = (messageId: string) =>
  /^[A-Za-z0-9-]{1,80}$/.test(messageId)
    ? `ses-${messageId}`
    : `ses-h${createHash('sha256').update(messageId).digest('hex').slice(0, 40)}`;

/** One SNS HTTP delivery, from body text to reply. Throws AppErrors (403 forged, 503 retry later, …). */
export function createSnsHandler(deps: SnsHandlerDeps) {
  const { log, metrics, config } = deps;
  const domains = new Set(config.mail.domains);

  async function verified(body: string, headerType: string | undefined): Promise<SnsMessage> {
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch {
      throw new BadRequest('body is not a JSON SNS message', 'invalid_json');
    }
    const claimed = value as Partial<SnsMessage> | null;
    try {
      const m = asSnsMessage(value);
      if (headerType !== undefined && headerType !== m.Type)
        throw new SnsRejected('type_mismatch', 'x-amz-sns-message-type does not match Type');
      await deps.verifier.verify(m);
      return m;
    } catch (err) {
      if (!(err instanceof SnsRejected)) throw err;
      metrics.sesNotifications.inc({ outcome: 'rejected' });
      log.warn({
        event: 'ses.rejected',
        reason: err.reason,
        topicArn: String(claimed?.TopicArn ?? ''),
        snsMessageId: String(claimed?.MessageId ?? ''),
      });
      throw new Forbidden(`SNS message refused: ${err.message}`, `sns_${err.reason}`);
    }
  }

  async function notification(m: SnsMessage): Promise<SnsReply> {
    const r = interpretReceipt(m.Message, { domains, maxBytes: config.mail.maxMessageBytes });
    const ids = { topicArn: m.TopicArn, snsMessageId: m.MessageId };
    if (r.kind === 'skip') {
      metrics.sesNotifications.inc({ outcome: r.reason });
      if (r.reason === 's3_action') {
        log.warn({
          event: 'ses.not_delivered',
          reason: r.reason,
          ...ids,
          ...r.detail,
          hint: 'S3-action receipts (mail over 150 KB) are not fetched from S3: this mail was NOT delivered. Use the SNS action.',
        });
      } else {
        log.info({ event: 'ses.not_delivered', reason: r.reason, ...ids, ...r.detail });
      }
      return { status: 200, body: { status: 'not_delivered', reason: r.reason } };
    }
    const ingressId = await enqueueInbound(
      deps.inbound,
      {
        source: 'ses',
        envelope: { from: r.from, to: r.to },
        raw: r.raw,
        ingressId: ingressIdOf(m.MessageId),
      },
      config.redis.enqueueTimeoutMs,
    );
    metrics.sesNotifications.inc({ outcome: 'enqueued' });
    metrics.enqueued.inc({ source: 'ses' });
    log.info({
      event: 'ses.queued',
      ingressId,
      ...ids,
      sesMessageId: r.sesMessageId,
      recipients: r.to.length,
      foreignRecipients: r.foreign,
      bytes: r.raw.length,
    });
    return { status: 200, body: { status: 'queued', ingress_id: ingressId } };
  }

  async function confirm(m: SnsMessage): Promise<SnsReply> {
    try {
      await deps.fetch(subscribeUrl(m));
    } catch (err) {
      log.warn({ event: 'ses.subscription_confirm_failed', topicArn: m.TopicArn, err: (err as Error).message });
      throw new Unavailable('could not confirm the SNS subscription', { cause: err });
    }
    metrics.sesNotifications.inc({ outcome: 'subscription_confirmed' });
    log.info({ event: 'ses.subscription_confirmed', topicArn: m.TopicArn, snsMessageId: m.MessageId });
    return { status: 200, body: { status: 'subscription_confirmed' } };
  }

  return async (body: string, headerType?: string): Promise<SnsReply> => {
    const m = await verified(body, headerType);
    if (m.Type === 'Notification') return notification(m);
    if (m.Type === 'SubscriptionConfirmation') return confirm(m);
    metrics.sesNotifications.inc({ outcome: 'unsubscribe_confirmation' });
    log.warn({
      event: 'ses.unsubscribed',
      topicArn: m.TopicArn,
      snsMessageId: m.MessageId,
      hint: 'this endpoint no longer receives the topic; resubscribe in AWS to resume',
    });
    return { status: 200, body: { status: 'unsubscribe_logged' } };
  };
}
