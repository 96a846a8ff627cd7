import type Router from '@koa/router';
import { newRouter } from '../router.js';
import type { Config } from '../../core/config.js';
import { NotFound } from '../../core/errors.js';
import { readText } from '../body.js';
import type { Logger } from '../../core/log.js';
import { createSnsHandler } from '../../ingress/ses/handle-sns.js';
import { httpsGet } from '../../ingress/ses/https-get.js';
import { createSnsVerifier, type SnsFetch } from '../../ingress/ses/sns-verifier.js';
import type { Metrics } from '../../ops/metrics.js';
import type { InboundQueues } from '../../queue/producers.js';

export interface SesIngestDeps {
  config: Config;
  log: Logger;
  metrics: Metrics;
  queues: InboundQueues;
  /** where certificates and SubscribeURLs are fetched from; default: https GET (tests inject their own) */
  snsFetch?: SnsFetch;
}

/**
 * POST /api/v1/ingest/ses: SNS HTTP(S) deliveries of SES receipts. Mounted before authentication:
 * SNS sends no credentials, the message signature is the credential. 404 while SES_TOPIC_ARNS is empty.
 */
export function sesIngestRoutes(deps: SesIngestDeps): Router {
  const { config } = deps;
  const router = newRouter();
  const fetch = deps.snsFetch ?? httpsGet({ timeoutMs: config.ses.fetchTimeoutMs, maxBytes: config.ses.fetchMaxBytes });
  const verifier = createSnsVerifier({ topicArns: config.ses.topicArns, fetch, cacheSize: config.ses.certCacheSize });
  const handle = createSnsHandler({
    config,
    log: deps.log.child({ component: 'ses' }),
    metrics: deps.metrics,
    inbound: deps.queues,
    verifier,
    fetch,
  });

  router.post('/api/v1/ingest/ses', async (ctx) => {
    if (verifier.topics.size === 0)
      throw new NotFound('SES ingestion is disabled: SES_TOPIC_ARNS is empty', 'ses_disabled');
    const body = await readText(ctx, config.ses.maxBodyBytes);
    const reply = await handle(body, ctx.get('x-amz-sns-message-type') || undefined);
    ctx.status = reply.status;
    ctx.body = reply.body;
  });
  return router;
}
