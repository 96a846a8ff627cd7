import test from 'ava';
import { PassThrough } from 'node:stream';
import { censorSecrets, createLogger } from '../../src/core/log.js';

test('credentials in the usual places of a log object are redacted', (t) => {
  const secret = 'mw_0123abcd_SECRETSECRETSECRETSECRETSECRETSECRET1234567';
  const chunks: string[] = [];
  const sink = new PassThrough();
  sink.on('data', (c: Buffer) => chunks.push(c.toString()));
  const log = createLogger({ log: { level: 'info', pretty: false } }, 'test', sink);
  log.info({
    event: 'x',
    token: secret,
    apiKey: secret,
    authorization: `Bearer ${secret}`,
    req: { headers: { authorization: `Bearer ${secret}`, cookie: secret }, query: { token: secret } },
    config: { tokenSecret: secret },
    session: { password: secret },
  });
  log.flush();
  const out = chunks.join('');
  t.true(out.includes('"event":"x"'));
  t.false(out.includes('SECRETSECRET'), out);
  t.true(out.includes('[redacted]'));
});

test('secrets are censored up to three levels down, in child bindings and inside errors; other values are untouched', (t) => {
  const secret = 'SECRETSECRETSECRET';
  const chunks: string[] = [];
  const sink = new PassThrough();
  sink.on('data', (c: Buffer) => chunks.push(c.toString()));
  const log = createLogger({ log: { level: 'info', pretty: false } }, 'test', sink);
  const err = Object.assign(new Error('connect failed'), {
    code: 'EAUTH',
    config: { password: secret, host: 'db.example' },
  });
  const logged = { event: 'y', a: { b: { c: { token: secret } } }, list: [1, 2], n: 3, when: new Date(0), err };
  log.child({ component: 'c', apiKey: secret }).warn(logged);
  log.flush();
  const line = JSON.parse(chunks.join('').trim()) as Record<string, any>;
  t.false(JSON.stringify(line).includes(secret), JSON.stringify(line));
  t.is(line.apiKey, '[redacted]');
  t.is(line.a.b.c.token, '[redacted]');
  t.is(line.err.config.password, '[redacted]');
  t.is(line.err.config.host, 'db.example');
  t.is(line.err.message, 'connect failed');
  t.is(line.err.code, 'EAUTH');
  t.regex(line.err.stack, /connect failed/);
  t.deepEqual(line.list, [1, 2]);
  t.is(line.when, new Date(0).toISOString());
  // the caller's objects are never modified
  t.is(err.config.password, secret);
  t.is(logged.a.b.c.token, secret);
});

test('an object without secrets is passed through without a copy', (t) => {
  const o = { event: 'inbound.stored', recipient: 'a@b.test', seq: 1, nested: { x: 1 } };
  t.is(censorSecrets(o), o);
  const withSecret = { nested: { token: 't' }, other: { x: 1 } };
  const out = censorSecrets(withSecret);
  t.not(out, withSecret);
  t.is(out.other, withSecret.other, 'untouched branches are shared, not copied');
  t.deepEqual(out.nested, { token: '[redacted]' });
});
