import test from 'ava';
import { ingressIdOf } from '../../src/ingress/ses/handle-sns.js';
import { createTestDatabase } from '../helpers/db.js';
import { createSigner, notification, recordingFetch, sesReceipt, TOPIC } from '../helpers/sns.js';
import { startSystem } from '../helpers/system.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

const send = (baseUrl: string, body: unknown) =>
  fetch(`${baseUrl}/api/v1/ingest/ses`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain; charset=UTF-8' },
    body: JSON.stringify(body),
  });

test('with SES_TOPIC_ARNS empty the endpoint is disabled (404) and fetches nothing', async (t) => {
  const signer = await createSigner();
  const rec = recordingFetch(signer);
  const sys = await startSystem({ roles: ['web'], web: { snsFetch: rec.fetch } });
  try {
    const res = await send(
      sys.baseUrl,
      notification(
        signer,
        sesReceipt({
          recipients: ['a@mw.test'],
          source: 's@x',
          raw: Buffer.from('Subject: x\r\n\r\n'),
          encoding: 'UTF8',
        }),
      ),
    );
    t.is(res.status, 404);
    t.is(((await res.json()) as { error: { code: string } }).error.code, 'ses_disabled');
    t.deepEqual(rec.calls, []);
  } finally {
    await sys.stop();
  }
});

test('Redis unreachable: a valid notification gets 503 quickly (SNS retries) and is enqueued once Redis is back', async (t) => {
  const signer = await createSigner();
  const rec = recordingFetch(signer);
  const database = await createTestDatabase();
  const proxy = await startTcpProxy(
    Number(new URL(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379').port || 6379),
  );
  const sys = await startSystem({
    roles: ['web'],
    database,
    web: { snsFetch: rec.fetch },
    env: { SES_TOPIC_ARNS: TOPIC, REDIS_URL: `redis://127.0.0.1:${proxy.port}`, ENQUEUE_TIMEOUT_MS: '1000' },
  });
  // the outage is intended: keep BullMQ's unhandled queue 'error' events (printed raw otherwise) out of the test output
  for (const q of sys.deps.queues.all()) q.on('error', () => undefined);
  try {
    const m = notification(
      signer,
      sesReceipt({
        recipients: ['a@mw.test'],
        source: 's@x',
        raw: Buffer.from('Subject: x\r\n\r\nbody\r\n'),
        encoding: 'BASE64',
      }),
    );
    await proxy.cut();
    const started = Date.now();
    const res = await send(sys.baseUrl, m);
    const ms = Date.now() - started;
    t.is(res.status, 503);
    t.is(((await res.json()) as { error: { code: string } }).error.code, 'service_unavailable');
    t.true(ms < 2_000, `answered in ${ms} ms`);
    t.log(`503 after ${ms} ms`);
    // SNS retries the same MessageId later; against a healthy system it is accepted under the same ingress id
    const healthy = await startSystem({
      roles: ['web'],
      database,
      web: { snsFetch: rec.fetch },
      env: { SES_TOPIC_ARNS: TOPIC },
    });
    try {
      const retry = await send(healthy.baseUrl, m);
      t.is(retry.status, 200);
      t.truthy(await healthy.deps.queues.inbound.getJob(ingressIdOf(m.MessageId)));
    } finally {
      await healthy.stop();
    }
  } finally {
    await sys.stop();
    await database.drop();
  }
});
