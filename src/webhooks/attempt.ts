import type { Config } from '../core/config.js';
import type { HostGuard } from '../core/host-guard.js';
import type { Logger } from '../core/log.js';
import { open, type KeyRing } from '../core/secret-box.js';
import type { Db } from '../store/db.js';
import { recordAttempt, type AttemptResult, type Claim } from '../store/webhook-deliveries.js';
import { webhookSecretAad } from '../store/webhooks.js';
import { postWebhook } from './http.js';
import type { WebhookMetrics } from './metrics.js';
import { webhookBody } from './payload.js';
import { nextAttemptDelay } from './schedule.js';
import { signedHeaders } from './signing.js';

export interface AttemptDeps {
  config: Pick<Config, 'webhooks'>;
  db: Db;
  log: Logger;
  keyRing: KeyRing;
  guard: HostGuard;
  metrics: WebhookMetrics;
}

/** The secrets an attempt is signed with: the current one, and the previous one until it expires. */
export function secretsOf(
  ring: KeyRing,
  w: Extract<Claim, { kind: 'claimed' }>['webhook'],
  now = Date.now(),
): string[] {
  const secrets = [open(ring, w.secretSealed, webhookSecretAad('secret_encrypted', w.id))];
  if (w.previousSecretSealed && w.previousSecretExpiresAt && w.previousSecretExpiresAt.getTime() > now)
    secrets.push(open(ring, w.previousSecretSealed, webhookSecretAad('previous_secret_encrypted', w.id)));
  return secrets;
}

/**
 * One attempt of a claimed delivery: sign the event's body now (a retry is signed again), POST it through the
 * guard, classify the answer, record it. 2xx: delivered. 410: failed, the webhook disabled (`gone`). A URL or
 * address the guard refuses: failed, no retry. Anything else: retried per WEBHOOK_RETRY_SCHEDULE_MS, then failed.
 * Logs carry ids, status codes and errors, never a secret, a header value or a body.
 */
export async function attemptDelivery(
  deps: AttemptDeps,
  claim: Extract<Claim, { kind: 'claimed' }>,
): Promise<AttemptResult> {
  const { delivery, event, webhook } = claim;
  const body = webhookBody(event);
  const headers = signedHeaders(secretsOf(deps.keyRing, webhook), event.id, body);
  const sent = await postWebhook({
    url: webhook.url,
    body,
    headers,
    timeoutMs: deps.config.webhooks.timeoutMs,
    guard: deps.guard,
  });
  const attempts = delivery.attempts + 1;
  const ok = sent.statusCode !== null && sent.statusCode >= 200 && sent.statusCode < 300;
  const gone = sent.statusCode === 410;
  const delay =
    ok || gone || sent.refused
      ? null
      : nextAttemptDelay({
          attempts,
          scheduleMs: deps.config.webhooks.retryScheduleMs,
          statusCode: sent.statusCode,
          retryAfterMs: sent.retryAfterMs,
        });
  const result: AttemptResult = {
    statusCode: sent.statusCode,
    error: sent.error,
    excerpt: sent.excerpt,
    ms: sent.ms,
    outcome: ok ? 'delivered' : delay === null ? 'failed' : 'retry',
    ...(delay !== null ? { nextAttemptAt: new Date(Date.now() + delay) } : {}),
    ...(gone ? { gone } : {}),
  };
  const { disabled } = await recordAttempt(deps.db, delivery, result, deps.config.webhooks.disableAfterMs);
  deps.metrics.attempts.inc({ outcome: result.outcome });
  deps.metrics.attemptSeconds.observe(sent.ms / 1000);
  const fields = {
    deliveryId: delivery.id,
    eventId: event.id,
    eventType: event.type,
    webhookId: webhook.id,
    mailboxId: delivery.mailbox_id,
    attempt: attempts,
    statusCode: sent.statusCode ?? undefined,
    ms: Math.round(sent.ms),
  };
  if (ok) {
    deps.metrics.eventToDelivered.observe((Date.now() - event.created_at.getTime()) / 1000);
    deps.log.info({ event: 'webhook.delivered', ...fields });
  } else {
    deps.log[result.outcome === 'retry' ? 'warn' : 'error']({
      event: 'webhook.failed',
      ...fields,
      error: sent.error,
      final: result.outcome === 'failed',
      nextAttemptAt: result.nextAttemptAt?.toISOString(),
    });
  }
  if (disabled) {
    deps.metrics.disabled.inc({ reason: disabled });
    deps.log.warn({
      event: 'webhook.disabled',
      webhookId: webhook.id,
      mailboxId: delivery.mailbox_id,
      reason: disabled,
    });
  }
  return result;
}
