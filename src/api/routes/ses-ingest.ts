import Router from '@koa/router';
import type { Context } from 'koa';
import type { Config } from '../../core/config.js';
import { NotFound, PayloadTooLarge } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { createSnsHandler } from '../../ingress/ses/handle-sns.js';
import { httpsGet } from '../../ingress/ses/https-get.js';
import { createSnsVerifier, type SnsFetch } from '../../ingress/ses/sns-verifier.js';
import type { Metrics } from '../../ops/metrics.js';
import type { Queues } from '../../queue/producers.js';

export interface SesIngestDeps {
  config: Config;
  log: Logger;
  metrics: Metrics;
  queues: Pick<Queues, 'inbound'>;
  /** where certificates and SubscribeURLs are fetched from; default: https GET (tests inject their own) */
  snsFetch?: SnsFetch;
}

async function readBody(ctx: Context, limit: number): Promise<string> {
  if (Number(ctx.get('content-length') || 0) > limit) throw new PayloadTooLarge(`request body exceeds ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new PayloadTooLarge(`request body exceeds ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * POST /api/v1/ingest/ses: SNS HTTP(S) deliveries of SES receipts. Mounted before authentication:
 * SNS sends no credentials, the message signature is the credential. 404 while SES_TOPIC_ARNS is empty.
 */
export function sesIngestRoutes(deps: SesIngestDeps): Router {
  const { config } = deps;
  const router = new Router();
  const fetch = deps.snsFetch ?? httpsGet({ timeoutMs: config.ses.fetchTimeoutMs, maxBytes: config.ses.fetchMaxBytes });
  const verifier = createSnsVerifier({ topicArns: config.ses.topicArns, fetch, cacheSize: config.ses.certCacheSize });
  const handle = createSnsHandler({
    config,
    log: deps.log.child({ component: 'ses' }),
    metrics: deps.metrics,
    inbound: deps.queues.inbound,
    verifier,
    fetch,
  });

  router.post('/api/v1/ingest/ses', async (ctx) => {
    if (verifier.topics.size === 0) throw new NotFound('SES ingestion is disabled: SES_TOPIC_ARNS is empty', 'ses_disabled');
    const body = await readBody(ctx, config.ses.maxBodyBytes);
    const reply = await handle(body, ctx.get('x-amz-sns-message-type') || undefined);
    ctx.status = reply.status;
    ctx.body = reply.body;
  });
  return router;
}
