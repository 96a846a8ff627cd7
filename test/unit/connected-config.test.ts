import test from 'ava';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveCredentialsRing, resolveTokenSecret } from '../../src/access/secret.js';
import { serverText } from '../../src/connected/server-text.js';
import { ConfigError, loadConfig } from '../../src/core/config.js';
import { generateKey, open, seal } from '../../src/core/secret-box.js';

test('connected defaults: no key, empty allow-list, IMAP_TIMEOUT_MS 15000', (t) => {
  const c = loadConfig({});
  t.is(c.connected.keyRing, undefined);
  t.is(c.connected.allowHosts.hosts.size + c.connected.allowHosts.ips.length + c.connected.allowHosts.cidrs.length, 0);
  t.is(c.connected.imapTimeoutMs, 15_000);
});

test('CREDENTIALS_KEY is checked at start, shown by its length only', (t) => {
  const bad = 'not-a-key-but-a-secret-looking-value';
  const err = t.throws(() => loadConfig({ CREDENTIALS_KEY: bad }), { instanceOf: ConfigError });
  t.regex(err.message, /CREDENTIALS_KEY: not standard padded base64/);
  t.false(err.message.includes(bad));
  const key = generateKey();
  t.throws(() => loadConfig({ CREDENTIALS_KEY_PREVIOUS: key }), {
    message: /CREDENTIALS_KEY_PREVIOUS: needs CREDENTIALS_KEY/,
  });
  t.throws(() => loadConfig({ CREDENTIALS_KEY: key, CREDENTIALS_KEY_PREVIOUS: key }), { instanceOf: ConfigError });
  const previous = generateKey();
  const old = loadConfig({ CREDENTIALS_KEY: previous }).connected.keyRing!;
  const ring = loadConfig({ CREDENTIALS_KEY: key, CREDENTIALS_KEY_PREVIOUS: previous }).connected.keyRing!;
  t.is(open(ring, seal(old, 'pw', 'aad'), 'aad'), 'pw', 'the previous key still opens');
});

test('CONNECTED_ALLOW_HOSTS is parsed at start; a bad entry stops it naming the variable', (t) => {
  const c = loadConfig({ CONNECTED_ALLOW_HOSTS: 'mail.lan, 10.0.0.0/24 127.0.0.1' });
  t.true(c.connected.allowHosts.hosts.has('mail.lan'));
  t.is(c.connected.allowHosts.cidrs.length, 1);
  t.is(c.connected.allowHosts.ips.length, 1);
  t.throws(() => loadConfig({ CONNECTED_ALLOW_HOSTS: '10.0.0.1/8' }), {
    instanceOf: ConfigError,
    message: /CONNECTED_ALLOW_HOSTS: "10\.0\.0\.1\/8"/,
  });
  t.throws(() => loadConfig({ IMAP_TIMEOUT_MS: '0' }), { instanceOf: ConfigError });
});

test('the credentials key: CREDENTIALS_KEY, else a local file outside production, else none in production', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mw-credkey-'));
  const file = join(dir, 'sub', 'credentials-key');
  const key = generateKey();
  const set = loadConfig({ CREDENTIALS_KEY: key });
  t.is(resolveCredentialsRing(set, file), set.connected.keyRing);
  t.is(resolveCredentialsRing(loadConfig({ NODE_ENV: 'production', TOKEN_SECRET: 'x'.repeat(32) }), file), undefined);

  const dev = loadConfig({});
  const first = resolveCredentialsRing(dev, file)!;
  const written = readFileSync(file, 'utf8');
  t.regex(written, /^[A-Za-z0-9+/]{43}=$/);
  t.is(statSync(file).mode & 0o777, 0o600);
  const second = resolveCredentialsRing(dev, file)!;
  t.is(open(second, seal(first, 'pw', 'a'), 'a'), 'pw', 'the same key after a restart');
  // a file that is not a valid key (say a token secret) is replaced by a new key
  writeFileSync(file, 'x'.repeat(40));
  t.truthy(resolveCredentialsRing(dev, file));
  t.not(readFileSync(file, 'utf8'), 'x'.repeat(40));
  // the token secret keeps its own rule through the shared helper
  const tokenFile = join(dir, 'token-secret');
  const secret = resolveTokenSecret(dev, tokenFile);
  t.true(secret.length >= 32);
  t.is(resolveTokenSecret(dev, tokenFile), secret);
});

test('serverText: the password replaced, control characters removed, at most 200 characters', (t) => {
  t.is(
    serverText('NO [AUTHENTICATIONFAILED] bad password hunter2', 'hunter2'),
    'NO [AUTHENTICATIONFAILED] bad password ***',
  );
  t.is(serverText('a\r\nb\u0000c\u001b[31md', 'pw'), 'a b c [31md');
  const long = serverText(`${'x'.repeat(195)}hunter2${'y'.repeat(100)}`, 'hunter2');
  t.true(long.length <= 200);
  t.false(long.includes('hunter'));
  t.false(serverText('x'.repeat(199) + 'hunter2', 'hunter2').includes('hunt'));
});
