// node --import tsx bench/rate-limit.ts  (needs the local Postgres and Redis; writes under its own prefix)
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { createLimiter } from '../src/access/rate-limit.js';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../test/helpers/redis.js';
import { startSystem } from '../test/helpers/system.js';

const silent = pino({ level: 'silent' });
const prefix = uniquePrefix();
const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
await redis.connect();
const live = createLimiter({ redis, prefix, timeoutMs: 250, log: silent }, 'bench', { points: 1e9, windowS: 60 });
for (let i = 0; i < 500; i++) await live.consume('warm');
const N = 5000;
let t0 = performance.now();
for (let i = 0; i < N; i++) await live.consume(`k${i % 50}`);
console.log(
  `limiter.consume (Redis up): ${(((performance.now() - t0) / N) * 1000).toFixed(0)} µs/call over ${N} sequential calls`,
);

const dead = new Redis({
  port: 1,
  lazyConnect: true,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  retryStrategy: () => null,
});
const open = createLimiter({ redis: dead, prefix, timeoutMs: 250, log: silent }, 'dead', { points: 10, windowS: 60 });
t0 = performance.now();
for (let i = 0; i < 1000; i++) await open.consume('k');
console.log(
  `limiter.consume (Redis not connected, fail open): ${(((performance.now() - t0) / 1000) * 1000).toFixed(0)} µs/call`,
);
redis.disconnect();
dead.disconnect();
await dropPrefix(prefix);

const REQUESTS = 2000;
for (const enabled of ['true', 'false', 'true', 'false']) {
  const sys = await startSystem({ roles: ['web'], env: { RATE_LIMIT_ENABLED: enabled } });
  const box = await sys.createMailbox();
  const get = () => sys.api(`/api/v1/mailboxes/${box.address}`, { token: box.token }).then((r) => r.arrayBuffer());
  for (let i = 0; i < 200; i++) await get();
  t0 = performance.now();
  for (let i = 0; i < REQUESTS; i++) await get();
  console.log(
    `RATE_LIMIT_ENABLED=${enabled}: ${((performance.now() - t0) / REQUESTS).toFixed(2)} ms per sequential GET /api/v1/mailboxes/{address} (${REQUESTS} requests)`,
  );
  await sys.stop();
}
