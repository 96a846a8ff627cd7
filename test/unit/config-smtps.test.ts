import test from 'ava';
import { ConfigError, loadConfig } from '../../src/core/config.js';

const tls = { SMTP_TLS_KEY_FILE: '/etc/mw/key.pem', SMTP_TLS_CERT_FILE: '/etc/mw/cert.pem' };

test('SMTPS_PORT unset or empty: no implicit TLS listener', (t) => {
  t.is(loadConfig({}).smtp.smtpsPort, undefined);
  t.is(loadConfig({ SMTPS_PORT: '', ...tls }).smtp.smtpsPort, undefined);
});

test('SMTPS_PORT with the STARTTLS certificate settings: the port (0 = any free port)', (t) => {
  t.is(loadConfig({ SMTPS_PORT: '465', ...tls }).smtp.smtpsPort, 465);
  t.is(loadConfig({ SMTPS_PORT: '0', ...tls }).smtp.smtpsPort, 0);
});

test('SMTPS_PORT without SMTP_TLS_KEY_FILE and SMTP_TLS_CERT_FILE fails start-up, naming what it needs', (t) => {
  for (const env of [
    { SMTPS_PORT: '465' },
    { SMTPS_PORT: '465', SMTP_TLS_KEY_FILE: tls.SMTP_TLS_KEY_FILE },
    { SMTPS_PORT: '465', SMTP_TLS_CERT_FILE: tls.SMTP_TLS_CERT_FILE },
  ]) {
    const err = t.throws(() => loadConfig(env), { instanceOf: ConfigError });
    t.is(
      err?.message,
      'invalid configuration:\n  SMTPS_PORT: needs SMTP_TLS_KEY_FILE and SMTP_TLS_CERT_FILE, the certificate STARTTLS uses (got "465")',
    );
  }
});

test('a SMTPS_PORT that is not a port fails like every port setting', (t) => {
  for (const value of ['abc', '65536', '4.65', ' ']) {
    const err = t.throws(() => loadConfig({ SMTPS_PORT: value, ...tls }), { instanceOf: ConfigError });
    t.regex(err?.message ?? '', /^invalid configuration:\n {2}SMTPS_PORT: /);
  }
});
