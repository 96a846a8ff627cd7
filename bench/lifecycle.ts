// npm run bench:lifecycle  — sweep, purge and on-time expiry figures on this machine (needs local Postgres + Redis).
// BENCH_SWEEP_N, BENCH_PURGE_MESSAGES, BENCH_EXPIRING, BENCH_SENDERS override the sizes.
import type { Knex } from 'knex';
import { loadConfig } from '../src/core/config.js';
import { createLogger } from '../src/core/log.js';
import { publishExpired } from '../src/pubsub/publish-expired.js';
import { purgeInactive } from '../src/maintenance/purge.js';
import { redisPublisher } from '../src/pubsub/events.js';
import { connectRedis } from '../src/core/redis.js';
import { createDb } from '../src/store/db.js';
import { lifecycleStore } from '../src/store/lifecycle.js';
import { createTestDatabase } from '../test/helpers/db.js';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../test/helpers/redis.js';
import { RawSmtp } from '../test/helpers/smtp-client.js';
import { startSystem } from '../test/helpers/system.js';
import { createUserWithKey } from '../test/helpers/users.js';

const num = (name: string, dflt: number) => Number(process.env[name] ?? dflt);
const SWEEP_N = num('BENCH_SWEEP_N', 100_000);
const PURGE_MESSAGES = num('BENCH_PURGE_MESSAGES', 100_000);
const EXPIRING = num('BENCH_EXPIRING', 300);
const SENDERS = num('BENCH_SENDERS', 8);

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const print = (label: string, value: string) => console.log(`${label.padEnd(58)} ${value}`);

/** Time every statement (knex query / query-response events) to report the longest one. */
function statementTimer(db: Knex) {
  const started = new Map<string, number>();
  let max = 0;
  const onQuery = (q: { __knexQueryUid: string }) => started.set(q.__knexQueryUid, performance.now());
  const onDone = (_r: unknown, q: { __knexQueryUid: string }) => {
    const t0 = started.get(q.__knexQueryUid);
    if (t0 !== undefined) max = Math.max(max, performance.now() - t0);
  };
  db.on('query', onQuery).on('query-response', onDone);
  return {
    stop: () => {
      db.off('query', onQuery).off('query-response', onDone);
      return max;
    },
  };
}

async function benchSweepAndPurge() {
  const database = await createTestDatabase();
  const prefix = uniquePrefix();
  const config = loadConfig({
    DATABASE_URL: database.url,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: prefix,
    LOG_LEVEL: 'silent',
  });
  const db = createDb(config);
  const redis = await connectRedis(config, 'producer');
  const log = createLogger(config, 'bench');
  const lifecycle = lifecycleStore(db);
  try {
    await db.raw(
      `insert into mailboxes (address, plan_id, expires_at) select 'live-' || g || '@x.test', 'anonymous', now() + interval '1 hour' from generate_series(1, ?) g`,
      [SWEEP_N],
    );
    await db.raw(
      `insert into mailboxes (address, plan_id, expires_at) select 'due-' || g || '@x.test', 'anonymous', now() - interval '1 second' from generate_series(1, ?) g`,
      [SWEEP_N],
    );
    await db.raw('analyze mailboxes');
    let t0 = performance.now();
    const ids = await lifecycle.sweepExpired();
    const sweepMs = performance.now() - t0;
    t0 = performance.now();
    const published = await publishExpired(ids, { publisher: redisPublisher(redis, prefix), log });
    const publishMs = performance.now() - t0;
    print(
      `sweep: UPDATE expiring ${ids.length} of ${2 * SWEEP_N} mailboxes`,
      `${sweepMs.toFixed(0)} ms (one statement)`,
    );
    print(`sweep: publish ${published} mailbox_expired events`, `${publishMs.toFixed(0)} ms`);
    t0 = performance.now();
    const idle = await lifecycle.sweepExpired();
    print(`sweep: next run with nothing overdue (${idle.length} rows)`, `${(performance.now() - t0).toFixed(1)} ms`);

    // purge: PURGE_MESSAGES messages of 1 KB in mailboxes inactive for two days, 100 per mailbox
    await db('mailboxes').delete();
    const perMailbox = 100;
    await db.raw(
      `insert into mailboxes (address, plan_id, expires_at, is_active, deactivated_at, deactivated_reason)
      select 'old-' || g || '@x.test', 'anonymous', now() - interval '3 days', false, now() - interval '2 days', 'expired' from generate_series(1, ?) g`,
      [PURGE_MESSAGES / perMailbox],
    );
    await db.raw(
      `insert into mailboxes (address, plan_id, expires_at) select 'keep-' || g || '@x.test', 'anonymous', now() + interval '1 hour' from generate_series(1, 100) g`,
    );
    await db.raw(
      `insert into messages (id, mailbox_id, seq, ingress_id, source, raw, size_bytes, received_at)
      select m.id || '-' || g, m.id, g, 'i' || g, 'smtp', decode(repeat('ab', 1024), 'hex'), 1024, now()
      from mailboxes m, generate_series(1, ?) g`,
      [perMailbox],
    );
    await db.raw('analyze messages');
    await db.raw('analyze mailboxes');
    const timer = statementTimer(db);
    t0 = performance.now();
    const purged = await purgeInactive({ config, log, lifecycle, publisher: redisPublisher(redis, prefix) });
    const purgeMs = performance.now() - t0;
    const longest = timer.stop();
    print(
      `purge: ${purged.messages} messages in ${purged.mailboxes} mailboxes (batch ${config.lifecycle.purgeBatchSize})`,
      `${purgeMs.toFixed(0)} ms, ${purged.statements} statements, longest ${longest.toFixed(0)} ms`,
    );
    const kept = Number((await db.raw('select count(*)::int as n from messages')).rows[0].n);
    print('purge: messages of live mailboxes left alone', String(kept));
  } finally {
    redis.disconnect();
    await db.destroy();
    await database.drop();
    await dropPrefix(prefix);
  }
}

async function benchExpiryLag() {
  const sys = await startSystem({
    env: { TTL_UNIT_MS: '1000', SWEEP_INTERVAL_MS: '3600000', PURGE_INTERVAL_MS: '3600000', LOG_LEVEL: 'silent' },
  });
  try {
    const { apiKey } = await createUserWithKey(sys.deps.stores, 'pro');
    const targets = await Promise.all(Array.from({ length: 4 }, () => sys.createMailbox('?ttl_minutes=600', apiKey)));
    let sent = 0;
    let stop = false;
    // one SMTP session per sender, many messages per session (opening a session is slow next to sending on it)
    const sender = async (i: number) => {
      const { client } = await RawSmtp.open(sys.smtpPort);
      await client.command('EHLO load.local');
      for (let n = 0; !stop; n++) {
        await client.command('MAIL FROM:<load@example.org>');
        await client.command(`RCPT TO:<${targets[(i + n) % targets.length]!.address}>`);
        if ((await client.data(`Subject: load ${i}-${n}\r\n\r\n${'x'.repeat(2_000)}\r\n`)).startsWith('250')) sent++;
      }
      await client.command('QUIT').catch(() => '');
      client.socket.destroy();
    };
    const load = Array.from({ length: SENDERS }, (_, i) => sender(i));
    const started = Date.now();
    const boxes: string[] = [];
    for (let i = 0; i < EXPIRING; i++)
      boxes.push((await sys.createMailbox(`?ttl_minutes=${2 + (i % 5)}`, apiKey)).address);
    const until = Date.now() + 20_000;
    let rows: { expires_at: Date; deactivated_at: Date | null; is_active: boolean }[] = [];
    for (;;) {
      rows = await sys.deps
        .db('mailboxes')
        .whereIn('address', boxes)
        .select('expires_at', 'deactivated_at', 'is_active');
      if (rows.every((r) => !r.is_active) || Date.now() > until) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    stop = true;
    await Promise.all(load);
    const seconds = (Date.now() - started) / 1000;
    const stored = Number((await sys.deps.db('messages').count({ n: '*' }))[0]!.n);
    const lags = rows
      .filter((r) => r.deactivated_at)
      .map((r) => r.deactivated_at!.getTime() - r.expires_at.getTime())
      .sort((a, b) => a - b);
    print(
      `expiry: ${EXPIRING} mailboxes, ingest ${SENDERS} SMTP senders`,
      `${(sent / seconds).toFixed(0)} msg/s accepted, ${stored} stored`,
    );
    print(
      'expiry: expires_at -> is_active=false, p50 / p99 / max',
      `${pct(lags, 50)} / ${pct(lags, 99)} / ${lags.at(-1)} ms (${lags.length}/${rows.length} deactivated; sweep interval 1 h, so by the expiry jobs)`,
    );
  } finally {
    await sys.stop();
  }
}

await benchSweepAndPurge();
await benchExpiryLag();
