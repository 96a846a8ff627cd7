import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry per process (built by the container); never a module-level singleton. */
export function createMetrics(role: string, opts: { processMetrics?: boolean } = {}) {
  const registry = new Registry();
  registry.setDefaultLabels({ role });
  // process_* and nodejs_* describe the whole process: a worker thread's registry leaves them to the main thread's
  if (opts.processMetrics !== false) collectDefaultMetrics({ register: registry });
  const r = [registry];
  return {
    registry,
    smtpSessions: new Counter({ name: 'mailwright_smtp_sessions_total', help: 'SMTP sessions opened', registers: r }),
    smtpDataBytesInFlight: new Gauge({
      name: 'mailwright_smtp_data_bytes_in_flight',
      help: 'Message bytes the SMTP ingress holds, from DATA to the enqueue (SMTP_MAX_DATA_BYTES_IN_FLIGHT)',
      registers: r,
    }),
    smtpOpenSessions: new Gauge({
      name: 'mailwright_smtp_open_sessions',
      help: 'SMTP sessions open (each holds a session deadline timer)',
      registers: r,
    }),
    smtpReplies: new Counter({
      name: 'mailwright_smtp_replies_total',
      help: 'SMTP replies to DATA/RCPT by code',
      labelNames: ['code'],
      registers: r,
    }),
    smtpClientDisconnects: new Counter({
      name: 'mailwright_smtp_client_disconnects_total',
      help: 'SMTP connections closed by the client (or its idle timeout) in the middle of a transaction, by stage; no reply was sent',
      labelNames: ['stage'],
      registers: r,
    }),
    smtpEvictions: new Counter({
      name: 'mailwright_smtp_evictions_total',
      help: 'Idle SMTP sessions closed (421 4.4.2) to make room for a new client while every session was taken',
      registers: r,
    }),
    parseRetries: new Counter({
      name: 'mailwright_parse_retries_total',
      help: 'Messages whose parse ran out of PARSE_TIMEOUT_MS and were queued for a retry at low concurrency (inbound-large)',
      registers: r,
    }),
    enqueued: new Counter({
      name: 'mailwright_messages_enqueued_total',
      help: 'Raw messages accepted and enqueued',
      labelNames: ['source'],
      registers: r,
    }),
    delivered: new Counter({
      name: 'mailwright_messages_delivered_total',
      help: 'Messages stored in a mailbox (per recipient)',
      registers: r,
    }),
    duplicates: new Counter({
      name: 'mailwright_messages_duplicate_total',
      help: 'Deliveries found already stored (job re-run)',
      registers: r,
    }),
    dropped: new Counter({
      name: 'mailwright_messages_dropped_total',
      help: 'Deliveries dropped, by reason',
      labelNames: ['reason'],
      registers: r,
    }),
    retried: new Counter({
      name: 'mailwright_jobs_retried_total',
      help: 'Jobs that failed and will be retried',
      labelNames: ['queue'],
      registers: r,
    }),
    workerRestarts: new Counter({
      name: 'mailwright_worker_stall_restarts_total',
      help: 'Queue consumers closed and opened again because they took no job while their queue had some waiting',
      labelNames: ['queue'],
      registers: r,
    }),
    failed: new Counter({
      name: 'mailwright_jobs_failed_total',
      help: 'Jobs that failed for good',
      labelNames: ['queue'],
      registers: r,
    }),
    publishFailures: new Counter({
      name: 'mailwright_publish_failures_total',
      help: 'Events that could not be published',
      registers: r,
    }),
    pipelineSeconds: new Histogram({
      name: 'mailwright_pipeline_seconds',
      help: 'Time from ingress acknowledgement to a pipeline stage',
      labelNames: ['stage'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: r,
    }),
    outboundOutcomes: new Counter({
      name: 'mailwright_outbound_outcomes_total',
      help: 'Outbound send attempts by outcome (sent, deferred, failed, suppressed, recovered)',
      labelNames: ['outcome'],
      registers: r,
    }),
    outboundAccepted: new Counter({
      name: 'mailwright_outbound_accepted_total',
      help: 'Outbound messages accepted by the API, by first status (queued, suppressed)',
      labelNames: ['status'],
      registers: r,
    }),
    outboundSendSeconds: new Histogram({
      name: 'mailwright_outbound_smtp_seconds',
      help: 'Time of one SMTP transaction of an outbound message (connection from the pool to the final reply)',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: r,
    }),
    httpSeconds: new Histogram({
      name: 'mailwright_http_request_seconds',
      help: 'HTTP request latency by route',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 30],
      registers: r,
    }),
    sesNotifications: new Counter({
      name: 'mailwright_ses_notifications_total',
      help: 'SNS deliveries on the SES ingest endpoint, by outcome',
      labelNames: ['outcome'],
      registers: r,
    }),
    openStreams: new Gauge({
      name: 'mailwright_open_streams',
      help: 'Open SSE and WebSocket streams',
      labelNames: ['transport'],
      registers: r,
    }),
    mailboxChannels: new Gauge({
      name: 'mailwright_subscribed_mailbox_channels',
      help: 'Mailbox pub/sub channels this web process is subscribed to (mailboxes with a stream or wait here, and lingering ones)',
      registers: r,
    }),
    // connected mailboxes: the worker role's IDLE watchers (src/connected/watch-pool.ts)
    connectedWatchers: new Gauge({
      name: 'mailwright_connected_watchers',
      help: 'IDLE watchers of connected mailboxes this worker process runs (each holds the mailbox lease), by state',
      labelNames: ['state'],
      registers: r,
    }),
    connectedWatchEvents: new Counter({
      name: 'mailwright_connected_watch_events_total',
      help: 'What the IDLE watchers of connected mailboxes did: new_message published, reconnect, lease_lost',
      labelNames: ['event'],
      registers: r,
    }),
    // connected mailboxes (issue 19): the IMAP sessions of the HTTP→IMAP bridge in this web process
    imapSessions: new Counter({
      name: 'mailwright_imap_sessions_total',
      help: 'IMAP sessions of connected mailboxes, by outcome (ok, auth_failed, unavailable, timeout, error)',
      labelNames: ['outcome'],
      registers: r,
    }),
    imapSessionSeconds: new Histogram({
      name: 'mailwright_imap_session_seconds',
      help: 'IMAP session duration, connect to closed socket (a streamed download lasts as long as the client reads)',
      labelNames: ['outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60, 300],
      registers: r,
    }),
    imapBytesFetched: new Counter({
      name: 'mailwright_imap_bytes_fetched_total',
      help: 'Bytes read from IMAP servers by the sessions of connected mailboxes',
      registers: r,
    }),
    imapBusy: new Counter({
      name: 'mailwright_imap_busy_total',
      help: 'Requests refused with 503 imap_busy (IMAP_MAX_CONNECTIONS_PER_MAILBOX sessions open and IMAP_QUEUE_MAX waiting)',
      registers: r,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
