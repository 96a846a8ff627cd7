import test from 'ava';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { registerQueueMetrics } from '../../src/ops/queue-metrics.js';
import { freePort } from '../helpers/private-services.js';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';

// Found by a README check (2026-12-02): scrape_ok was set as a side effect of the depths' collect, which
// prom-client runs at the same time, so a scrape showed the previous scrape's value (0 on the first one)

test('the first scrape after start says 1 and carries the depths it read', async (t) => {
  const prefix = uniquePrefix();
  const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue('inbound', { connection, prefix });
  t.teardown(async () => {
    await queue.close();
    connection.disconnect();
    await dropPrefix(prefix);
  });
  await queue.add('deliver', { x: 1 });
  const registry = new Registry();
  registerQueueMetrics(registry, () => [queue], 2_000);
  const text = await registry.metrics();
  t.regex(text, /^mailwright_queue_scrape_ok 1$/m);
  t.regex(text, /^mailwright_queue_jobs\{queue="inbound",state="waiting"\} 1$/m);
});

test('the first scrape with Redis unreachable says 0, carries no depths and answers within the timeout', async (t) => {
  const port = await freePort(); // nothing listens there
  const connection = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  connection.on('error', () => undefined);
  const queue = new Queue('inbound', { connection, prefix: uniquePrefix() });
  queue.on('error', () => undefined);
  t.teardown(async () => {
    connection.disconnect();
    await queue.close().catch(() => undefined);
  });
  const registry = new Registry();
  registerQueueMetrics(registry, () => [queue], 500);
  const started = Date.now();
  const text = await registry.metrics();
  t.true(Date.now() - started < 3_000, `answered after ${Date.now() - started} ms`);
  t.regex(text, /^mailwright_queue_scrape_ok 0$/m);
  t.notRegex(text, /^mailwright_queue_jobs\{/m);
});
