// scratch: enqueue N jobs directly, then start the worker in-process and time it
import { randomBytes } from 'node:crypto';
import { createContainer } from '../src/container.js';
import { loadConfig } from '../src/core/config.js';
import { enqueueInbound } from '../src/ingress/enqueue.js';
import { startWorker } from '../src/roles/worker.js';
import { createTestDatabase } from '../test/helpers/db.js';
import { dropPrefix, uniquePrefix } from '../test/helpers/redis.js';
import { bodyOf, messageOf } from '../bench/ingest-smtp-client.js';

const N = Number(process.env.N ?? 1000);
const BOXES = Number(process.env.BOXES ?? 10);
const database = await createTestDatabase();
const prefix = uniquePrefix();
const config = loadConfig({ ...process.env, DATABASE_URL: database.url, QUEUE_PREFIX: prefix, LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent', MAIL_DOMAINS: 'bench.test' });
const deps = await createContainer(config, 'probe');
try {
  const boxes = [];
  for (let i = 0; i < BOXES; i++) boxes.push(await deps.stores.mailboxes.create({ address: `b${i}${randomBytes(4).toString('hex')}@bench.test`, ownerUserId: null, planId: 'pro', ttlMs: 3600_000 }));
  const body = bodyOf(1750);
  for (let i = 0; i < N; i++) {
    const to = boxes[i % BOXES]!.address;
    await enqueueInbound(deps.queues.inbound, { source: 'smtp', envelope: { from: 'a@b.c', to: [to] }, raw: messageOf('x', i % BOXES, i, to, body) }, 5000);
  }
  const t0 = performance.now(); const cpu0 = process.cpuUsage();
  const w = await startWorker(deps);
  for (;;) {
    const c = await deps.db('messages').count<{ n: string }[]>({ n: '*' });
    if (Number(c[0]!.n) >= N) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const ms = performance.now() - t0; const cpu = process.cpuUsage(cpu0); console.log(`cpu user ${(cpu.user/1000).toFixed(0)} ms sys ${(cpu.system/1000).toFixed(0)} ms => ${((cpu.user+cpu.system)/1000/N).toFixed(2)} ms/msg`);
  console.log(`${N} jobs in ${ms.toFixed(0)} ms: ${((N / ms) * 1000).toFixed(0)} msg/s (concurrency ${config.worker.concurrency}, pool ${config.db.poolMax}, boxes ${BOXES})`);
  await w.close();
} finally {
  await deps.queues.inbound.obliterate({ force: true }).catch(() => undefined);
  await deps.close();
  await dropPrefix(prefix);
  await database.drop();
}
