import test from 'ava';
import { ConfigError, loadConfig } from '../../src/core/config.js';

test('outbound defaults', (t) => {
  const o = loadConfig({}).outbound;
  t.is(o.relay, undefined);
  t.is(o.concurrency, 16);
  t.is(o.maxAttempts, 8);
  t.is(o.backoffMs, 30_000);
  t.is(o.backoffMaxMs, 3_600_000);
  t.is(o.lockMs, 120_000, 'unset: 2 × OUTBOUND_SMTP_TIMEOUT_MS');
  t.is(o.smtpTimeoutMs, 60_000);
  t.is(o.maxRecipients, 50);
  t.is(o.maxMessageBytes, 10 * 1024 * 1024);
  t.is(o.maxRequestBytes, Math.ceil((10 * 1024 * 1024 * 4) / 3) + 64 * 1024, '4/3 of the message limit + 64 KiB');
  t.is(loadConfig({ OUTBOUND_MAX_MESSAGE_BYTES: '3072' }).outbound.maxRequestBytes, 4096 + 65536);
});

test('OUTBOUND_RELAY_URL: smtp:// (STARTTLS when offered) or smtps:// (implicit TLS); user and password decoded', (t) => {
  const r = loadConfig({ OUTBOUND_RELAY_URL: 'smtp://ci%40example.org:p%40ss@relay.example.org:2525' }).outbound.relay!;
  t.deepEqual(
    { host: r.host, port: r.port, secure: r.secure, user: r.user, pass: r.pass },
    { host: 'relay.example.org', port: 2525, secure: false, user: 'ci@example.org', pass: 'p@ss' },
  );
  t.is(r.shown, 'smtp://ci%40example.org:***@relay.example.org:2525');
  const s = loadConfig({ OUTBOUND_RELAY_URL: 'smtps://relay.example.org' }).outbound.relay!;
  t.is(s.port, 465);
  t.true(s.secure);
  t.is(loadConfig({ OUTBOUND_RELAY_URL: 'smtp://[::1]:25' }).outbound.relay!.host, '::1');
});

test('bad outbound settings stop start-up naming the variable; a relay password is never shown', (t) => {
  const err = t.throws(() => loadConfig({ OUTBOUND_RELAY_URL: 'http://u:hunter2@relay.example.org' }), {
    instanceOf: ConfigError,
  });
  t.regex(err.message, /OUTBOUND_RELAY_URL: expected a URL starting with smtp:\/\/ or smtps:\/\//);
  t.false(err.message.includes('hunter2'));
  t.true(err.message.includes('u:***@'));
  for (const [name, value] of [
    ['OUTBOUND_BACKOFF_MS', '99'],
    ['OUTBOUND_CONCURRENCY', '0'],
    ['OUTBOUND_MAX_ATTEMPTS', '0'],
    ['OUTBOUND_LOCK_MS', '999'],
    ['OUTBOUND_LOCK_MS', '60000'],
    ['OUTBOUND_MAX_RECIPIENTS', '0'],
    ['OUTBOUND_MAX_MESSAGE_BYTES', '10'],
    ['OUTBOUND_MAX_REQUEST_BYTES', 'x'],
    ['OUTBOUND_SMTP_TIMEOUT_MS', '1e3'],
  ] as const)
    t.throws(() => loadConfig({ [name]: value }), { instanceOf: ConfigError, message: new RegExp(name) }, name);
  // a slow but live SMTP transaction must never outlast its claim (another worker would send it again)
  t.throws(() => loadConfig({ OUTBOUND_LOCK_MS: '30000' }), {
    instanceOf: ConfigError,
    message: /OUTBOUND_LOCK_MS: must be greater than OUTBOUND_SMTP_TIMEOUT_MS \(60000\)/,
  });
  t.is(loadConfig({ OUTBOUND_SMTP_TIMEOUT_MS: '10000' }).outbound.lockMs, 20_000, 'derived from the SMTP timeout');
  t.is(loadConfig({ OUTBOUND_SMTP_TIMEOUT_MS: '10000', OUTBOUND_LOCK_MS: '10001' }).outbound.lockMs, 10_001);
  t.throws(() => loadConfig({ OUTBOUND_BACKOFF_MS: '5000', OUTBOUND_BACKOFF_MAX_MS: '1000' }), {
    instanceOf: ConfigError,
    message: /OUTBOUND_BACKOFF_MAX_MS: must be at least OUTBOUND_BACKOFF_MS/,
  });
});
