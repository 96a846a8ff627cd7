import { Counter, Histogram, type Registry } from 'prom-client';

/** The webhook metrics, registered once per registry (a test may start two workers on one container). */
export function webhookMetrics(registry: Registry) {
  const get = <T>(name: string, make: () => T): T => (registry.getSingleMetric(name) as T | undefined) ?? make();
  return {
    attempts: get(
      'mailwright_webhook_attempts_total',
      () =>
        new Counter({
          name: 'mailwright_webhook_attempts_total',
          help: 'Webhook delivery attempts by outcome (delivered, retry, failed)',
          labelNames: ['outcome'],
          registers: [registry],
        }),
    ),
    attemptSeconds: get(
      'mailwright_webhook_attempt_seconds',
      () =>
        new Histogram({
          name: 'mailwright_webhook_attempt_seconds',
          help: 'Duration of one webhook attempt (DNS, connect, request, response)',
          buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
          registers: [registry],
        }),
    ),
    eventToDelivered: get(
      'mailwright_webhook_event_to_delivered_seconds',
      () =>
        new Histogram({
          name: 'mailwright_webhook_event_to_delivered_seconds',
          help: 'Time from an event being recorded to its webhook answering 2xx',
          buckets: [0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 5, 30, 300, 3600],
          registers: [registry],
        }),
    ),
    deferred: get(
      'mailwright_webhook_deferred_total',
      () =>
        new Counter({
          name: 'mailwright_webhook_deferred_total',
          help: 'Webhook jobs put back without an attempt because their endpoint had WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT in flight',
          registers: [registry],
        }),
    ),
    disabled: get(
      'mailwright_webhooks_disabled_total',
      () =>
        new Counter({
          name: 'mailwright_webhooks_disabled_total',
          help: 'Webhooks disabled, by reason (gone: 410; failing: WEBHOOK_DISABLE_AFTER_MS of failures)',
          labelNames: ['reason'],
          registers: [registry],
        }),
    ),
  };
}
export type WebhookMetrics = ReturnType<typeof webhookMetrics>;
