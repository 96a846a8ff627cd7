import { toIso } from '../core/time.js';
import type { DeliveryListItem, EventRow } from '../store/webhook-deliveries.js';
import type { Webhook } from '../store/webhooks.js';

/** A webhook as the API shows it: never a secret (the secret is shown once, by PUT and rotate-secret). */
export const presentWebhook = (w: Webhook) => ({
  url: w.url,
  events: w.eventTypes,
  status: w.status,
  disabled_reason: w.disabledReason,
  disabled_at: toIso(w.disabledAt),
  created_at: toIso(w.createdAt),
  updated_at: toIso(w.updatedAt),
  previous_secret_expires_at:
    w.previousSecretExpiresAt && w.previousSecretExpiresAt.getTime() > Date.now()
      ? toIso(w.previousSecretExpiresAt)
      : null,
});

export const presentDelivery = (d: DeliveryListItem) => ({
  id: d.id,
  event_id: d.event_id,
  event_type: d.event_type,
  status: d.status,
  attempts: d.attempts,
  created_at: toIso(d.created_at),
  last_attempt_at: toIso(d.last_attempt_at),
  next_attempt_at: d.status === 'pending' ? toIso(d.next_attempt_at) : null,
  delivered_at: toIso(d.delivered_at),
  last_status_code: d.last_status_code,
  last_error: d.last_error,
});

export const presentDeliveryFull = (d: DeliveryListItem & { event: EventRow }, payload: unknown) => ({
  ...presentDelivery(d),
  payload,
  response_excerpt: d.response_excerpt,
  attempt_log: d.attempt_log,
});
