import { randomBytes } from 'node:crypto';
import { ulid } from 'ulid';
import { createContainer } from '../src/container.js';
import { loadConfig } from '../src/core/config.js';
import { createTestDatabase } from '../test/helpers/db.js';
import { dropPrefix, uniquePrefix } from '../test/helpers/redis.js';
import { bodyOf, messageOf } from '../bench/ingest-smtp-client.js';
import { lookupMailbox } from '../src/pipeline/steps/lookup-mailbox.js';
import { loadPlan } from '../src/pipeline/steps/load-plan.js';
import { checkQuota } from '../src/pipeline/steps/check-quota.js';
import { parseMessage } from '../src/pipeline/steps/parse-message.js';
import { storeMessage } from '../src/pipeline/steps/store-message.js';
import { publishEvent } from '../src/pipeline/steps/publish-event.js';
import { parseRaw } from '../src/pipeline/parse.js';

const database = await createTestDatabase();
const prefix = uniquePrefix();
const config = loadConfig({ ...process.env, DATABASE_URL: database.url, QUEUE_PREFIX: prefix, LOG_LEVEL: 'silent', MAIL_DOMAINS: 'bench.test' });
const deps = await createContainer(config, 'probe');
try {
  const box = await deps.stores.mailboxes.create({ address: `b${randomBytes(4).toString('hex')}@bench.test`, ownerUserId: null, planId: 'pro', ttlMs: 3600_000 });
  const raw = messageOf('x', 1, 1, box.address, bodyOf(1750));
  const acc: Record<string, number> = {};
  const N = 300;
  for (let i = 0; i < N; i++) {
    const job = { v: 1 as const, ingressId: ulid(), source: 'smtp' as const, receivedAt: new Date().toISOString(), envelope: { from: null, to: [box.address] }, rawBase64: '' };
    let p: any;
    const d0 = { job, recipient: box.address, raw, parse: () => (p ??= parseRaw(raw, 20000)) };
    let t = performance.now();
    const lap = (k: string) => { const n = performance.now(); acc[k] = (acc[k] ?? 0) + n - t; t = n; };
    const a = await lookupMailbox(d0, deps); lap('lookup');
    const b = await loadPlan(a, deps); lap('plan');
    const c = await checkQuota(b, deps); lap('quota');
    const e = await parseMessage(c, deps); lap('parse');
    const f = await storeMessage(e, deps); lap('store');
    await publishEvent(f, deps); lap('publish');
  }
  for (const [k, v] of Object.entries(acc)) console.log(k.padEnd(8), (v / N).toFixed(2), 'ms');
} finally {
  await deps.close();
  await dropPrefix(prefix);
  await database.drop();
}
