import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/core/config.js';

const dir = mkdtempSync(join(tmpdir(), 'mw-config-ca-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));
const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

test('REDIS_URL accepts rediss:// (TLS) and redis://; REDIS_TLS_CA_FILE is read once at start', (t) => {
  t.is(loadConfig({ REDIS_URL: 'rediss://default:pw@redis.example:6380' }).redis.tlsCa, undefined);
  t.is(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379' }).redis.url, 'redis://127.0.0.1:6379');
  const ca = file('ca.pem', PEM);
  t.is(loadConfig({ REDIS_URL: 'rediss://redis.example:6380/1', REDIS_TLS_CA_FILE: ca }).redis.tlsCa, PEM);
  t.is(
    loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_TLS_CA_FILE: '' }).redis.tlsCa,
    undefined,
    'empty means unset',
  );
});

test('REDIS_TLS_CA_FILE that cannot be read, holds no certificate, or comes without rediss://: a message naming it', (t) => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [
      { REDIS_URL: 'rediss://h:6380', REDIS_TLS_CA_FILE: join(dir, 'missing.pem') },
      /REDIS_TLS_CA_FILE: cannot read ".*missing\.pem" \(ENOENT\)/,
    ],
    [{ REDIS_URL: 'rediss://h:6380', REDIS_TLS_CA_FILE: dir }, /REDIS_TLS_CA_FILE: cannot read ".*" \(EISDIR\)/],
    [
      { REDIS_URL: 'rediss://h:6380', REDIS_TLS_CA_FILE: file('key.txt', 'not a certificate') },
      /REDIS_TLS_CA_FILE: ".*key\.txt" holds no PEM certificate/,
    ],
    [
      { REDIS_URL: 'redis://h:6379', REDIS_TLS_CA_FILE: file('ca2.pem', PEM) },
      /REDIS_TLS_CA_FILE: needs a rediss:\/\/ REDIS_URL/,
    ],
  ];
  for (const [env, message] of cases) {
    const error = t.throws(() => loadConfig(env), { instanceOf: ConfigError });
    t.regex(error.message, message);
  }
});

test('REDIS_URL with another scheme is refused, naming it', (t) => {
  const error = t.throws(() => loadConfig({ REDIS_URL: 'http://127.0.0.1:6379' }), { instanceOf: ConfigError });
  t.regex(error.message, /REDIS_URL: expected a URL starting with redis:\/\/ or rediss:\/\//);
});

test('PGSSLMODE becomes the sslmode of a DATABASE_URL that has none (app and release share the URL); a bad value is named', (t) => {
  const url = 'postgres://u:pw@db.example:5432/mw';
  t.is(loadConfig({ DATABASE_URL: url }).db.url, url);
  t.is(loadConfig({ DATABASE_URL: url, PGSSLMODE: 'verify-full' }).db.url, `${url}?sslmode=verify-full`);
  t.is(
    loadConfig({ DATABASE_URL: `${url}?sslrootcert=%2Fca.pem`, PGSSLMODE: 'no-verify' }).db.url,
    `${url}?sslrootcert=%2Fca.pem&sslmode=no-verify`,
  );
  t.is(
    loadConfig({ DATABASE_URL: `${url}?sslmode=no-verify`, PGSSLMODE: 'disable' }).db.url,
    `${url}?sslmode=no-verify`,
    'the URL wins',
  );
  t.is(loadConfig({ DATABASE_URL: url, PGSSLMODE: '' }).db.url, url, 'empty means unset');
  const error = t.throws(() => loadConfig({ DATABASE_URL: url, PGSSLMODE: 'always' }), { instanceOf: ConfigError });
  t.regex(error.message, /PGSSLMODE: .*"always"/);
});

test('sslmode prefer, require and verify-ca are passed as verify-full (what pg 8 does with them, without its start-up SECURITY WARNING); uselibpqcompat keeps them', (t) => {
  const url = 'postgres://u:pw@db.example:5432/mw';
  for (const mode of ['prefer', 'require', 'verify-ca']) {
    t.is(loadConfig({ DATABASE_URL: `${url}?sslmode=${mode}` }).db.url, `${url}?sslmode=verify-full`, mode);
    t.is(loadConfig({ DATABASE_URL: url, PGSSLMODE: mode }).db.url, `${url}?sslmode=verify-full`, `PGSSLMODE=${mode}`);
  }
  const compat = `${url}?uselibpqcompat=true&sslmode=require`;
  t.is(loadConfig({ DATABASE_URL: compat }).db.url, compat);
  t.is(loadConfig({ DATABASE_URL: `${url}?sslmode=disable` }).db.url, `${url}?sslmode=disable`);
});
