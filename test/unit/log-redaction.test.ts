import test from 'ava';
import { PassThrough } from 'node:stream';
import { createLogger } from '../../src/core/log.js';

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
