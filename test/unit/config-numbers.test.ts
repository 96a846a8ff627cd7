import test from 'ava';
import { ConfigError, ENV, loadConfig } from '../../src/core/config.js';

/** every setting built with `int()`: the ones whose default is a number */
const INTEGER_SETTINGS = Object.keys(ENV.shape).filter(
  (k) => typeof ENV.shape[k as keyof typeof ENV.shape].parse(undefined) === 'number',
);

test('the integer settings are found (the checks below are not vacuous)', (t) => {
  t.true(INTEGER_SETTINGS.length > 50);
  for (const name of [
    'PORT',
    'SMTP_PORT',
    'DATABASE_POOL_MAX',
    'PLAN_CACHE_MS',
    'MAX_MESSAGE_BYTES',
    'LOG_WRITE_BUFFER_BYTES',
  ])
    t.true(INTEGER_SETTINGS.includes(name), name);
});

test('an empty or blank integer setting stops start-up naming the variable (it used to become 0)', (t) => {
  for (const value of ['', ' ', '\t', '  \n ']) {
    const err = t.throws(() => loadConfig({ PORT: value }), { instanceOf: ConfigError });
    t.regex(err.message, /\bPORT: expected a whole number in decimal digits/);
    t.true(err.message.includes(`(got ${JSON.stringify(value)})`), err.message);
  }
});

test('every integer setting rejects an empty value, and all bad ones are named at once', (t) => {
  const env = Object.fromEntries(INTEGER_SETTINGS.map((k) => [k, '']));
  const err = t.throws(() => loadConfig(env), { instanceOf: ConfigError });
  for (const name of INTEGER_SETTINGS) t.regex(err.message, new RegExp(`^  ${name}: `, 'm'), name);
});

test('only decimal digits are accepted: hex, exponent, fraction, sign, separators and words are errors', (t) => {
  for (const value of [
    '0x10',
    '1e9',
    '1E3',
    '0b1',
    '0o7',
    '10.0',
    '1.5',
    '+5',
    '-1',
    '1_000',
    '1,000',
    '1 000',
    'Infinity',
    'NaN',
    '٣',
    '５',
    '10ms',
  ]) {
    const err = t.throws(() => loadConfig({ SMTP_MAX_RECIPIENTS: value }), { instanceOf: ConfigError }, value);
    t.regex(err.message, /\bSMTP_MAX_RECIPIENTS\b/, value);
  }
});

test('surrounding whitespace is trimmed; leading zeros are decimal', (t) => {
  const c = loadConfig({ PORT: ' 8080 ', SMTP_PORT: '\t2526\n', SMTP_MAX_RECIPIENTS: '007', PLAN_CACHE_MS: '0' });
  t.is(c.http.port, 8080);
  t.is(c.smtp.port, 2526);
  t.is(c.smtp.maxRecipients, 7);
  t.is(c.plans.cacheMs, 0);
});

test('an unset integer setting keeps its default', (t) => {
  const c = loadConfig({});
  t.is(c.http.port, 3000);
  t.is(c.smtp.maxRecipients, 50);
  t.is(c.plans.cacheMs, 10_000);
  t.is(c.log.writeBufferBytes, 0);
  t.is(c.db.poolMax, 10);
});

test('minimum and maximum still apply after the digits check', (t) => {
  t.is(loadConfig({ PORT: '65535', LOG_WRITE_BUFFER_BYTES: '16383' }).http.port, 65535);
  const err = t.throws(
    () =>
      loadConfig({
        PORT: '65536',
        METRICS_PORT: '70000',
        LOG_WRITE_BUFFER_BYTES: '16384',
        DATABASE_POOL_MAX: '0',
        MAX_MESSAGE_BYTES: '1023',
      }),
    { instanceOf: ConfigError },
  );
  for (const name of ['PORT', 'METRICS_PORT', 'LOG_WRITE_BUFFER_BYTES', 'DATABASE_POOL_MAX', 'MAX_MESSAGE_BYTES'])
    t.regex(err.message, new RegExp(`^  ${name}: `, 'm'), name);
});

test('a number too large to hold exactly is an error, not a rounded value', (t) => {
  const err = t.throws(() => loadConfig({ MAILBOX_RETENTION_MS: '99999999999999999999' }), { instanceOf: ConfigError });
  t.regex(err.message, /\bMAILBOX_RETENTION_MS\b/);
});
