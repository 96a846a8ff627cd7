import test from 'ava';
import { PassThrough } from 'node:stream';
import { createLogger } from '../../src/core/log.js';
import { startSystem } from '../helpers/system.js';
import { call, createTenant } from '../helpers/tenants.js';

/**
 * A full run (keys, mailboxes, tokens, SMTP delivery, reads, revocations, refusals, query-string
 * tokens) with the most verbose log level: not one line contains an API key, a token, a token's
 * signature or TOKEN_SECRET.
 */
test('the log of a full run at trace level contains no secret', async (t) => {
  const lines: string[] = [];
  const sink = new PassThrough();
  sink.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
  const log = createLogger({ log: { level: 'trace', pretty: false } }, 'test', sink);
  const sys = await startSystem({ overrides: { log } });
  t.teardown(() => sys.stop());
  const secrets: string[] = [sys.config.tokenSecret!];

  const user = await createTenant(sys);
  secrets.push(user.apiKey);
  const extra = await call(sys, 'POST', '/api/v1/keys', { token: user.apiKey, body: { name: 'second' } });
  secrets.push(extra.body.key);
  const anon = await sys.createMailbox();
  const box = await sys.createMailbox('', user.apiKey);
  secrets.push(anon.token, box.token);
  const agent = await call(sys, 'POST', `/api/v1/mailboxes/${box.address}/tokens`, {
    token: user.apiKey,
    body: { name: 'agent', permissions: ['read'] },
  });
  secrets.push(agent.body.token);

  await sys.send({ to: box.address, subject: 'hello', text: 'body' });
  const [msg] = await sys.waitForMessages(box.address, agent.body.token, 1);
  t.is(
    (await call(sys, 'GET', `/api/v1/mailboxes/${box.address}/messages/${msg.id}`, { token: agent.body.token })).status,
    200,
  );
  for (const path of [`/api/v1/mailboxes/${box.address}/events`, `/api/v1/mailboxes/${box.address}/messages`]) {
    await call(sys, 'GET', `${path}?token=${encodeURIComponent(agent.body.token)}`);
  }
  t.is(
    (await call(sys, 'DELETE', `/api/v1/mailboxes/${box.address}/tokens/${agent.body.jti}`, { token: box.token }))
      .status,
    204,
  );
  t.is((await call(sys, 'GET', `/api/v1/mailboxes/${box.address}`, { token: agent.body.token })).status, 401);
  t.is((await call(sys, 'DELETE', `/api/v1/keys/${extra.body.id}`, { token: user.apiKey })).status, 204);
  t.is((await call(sys, 'GET', '/api/v1/keys', { token: extra.body.key })).status, 401);
  t.is((await call(sys, 'GET', '/api/v1/keys', { token: `${user.apiKey.slice(0, -1)}x` })).status, 401);
  await call(sys, 'GET', '/api/v1/keys', { headers: { authorization: `Token ${user.apiKey}` } });
  await call(sys, 'GET', '/api/v1/mailboxes', { headers: { authorization: `Bearer ${box.token}.extra` } });
  await sys.stop();

  t.true(lines.length > 20, `captured ${lines.length} log lines`);
  t.true(
    lines.some((l) => l.includes('"event":"token.revoked"')),
    'the run was logged',
  );
  const parts = secrets.flatMap((s) => [s, ...s.split(/[._]/).filter((p) => p.length >= 20)]);
  const leaks = lines.filter((l) => parts.some((p) => l.includes(p)));
  t.deepEqual(leaks, [], 'no log line holds a secret or a secret part');
  t.false(
    lines.some((l) => /[?&]token=/.test(l)),
    'no query-string token',
  );
});
