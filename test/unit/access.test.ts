import test from 'ava';
import { apiKeyMatches, apiKeyPrefix, API_KEY_PATTERN, generateApiKey } from '../../src/core/api-keys.js';
import { createTokenSigner, looksLikeJwt } from '../../src/access/tokens.js';
import { effectiveTtlMinutes } from '../../src/mailboxes/ttl.js';
import { randomLocalPart } from '../../src/core/address.js';

test('API keys: visible prefix, salted hash, constant-time match', (t) => {
  const a = generateApiKey();
  t.regex(a.key, API_KEY_PATTERN);
  t.is(apiKeyPrefix(a.key), a.prefix);
  t.true(apiKeyMatches(a.key, a.salt, a.hash));
  t.false(apiKeyMatches(a.key.slice(0, -1) + (a.key.endsWith('A') ? 'B' : 'A'), a.salt, a.hash));
  const b = generateApiKey();
  t.false(apiKeyMatches(a.key, b.salt, b.hash));
  t.notDeepEqual(a.salt, b.salt);
});

test('tokens: signed with the server secret; another secret or a tampered payload is rejected', async (t) => {
  const signer = createTokenSigner('s'.repeat(32));
  const { token, jti } = await signer.sign('mbx-1', ['read']);
  t.true(looksLikeJwt(token));
  t.deepEqual(await signer.verify(token), { jti, mailboxId: 'mbx-1' });
  t.is(await createTokenSigner('t'.repeat(32)).verify(token), undefined);
  const [h, p, s] = token.split('.');
  const forged = Buffer.from(
    JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), mbx: 'mbx-2' }),
  ).toString('base64url');
  t.is(await signer.verify(`${h}.${forged}.${s}`), undefined);
  const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${p}.`;
  t.is(await signer.verify(none), undefined);
});

test('effective TTL = min(requested or default, max)', (t) => {
  const plan = { defaultTtlMinutes: 15, maxTtlMinutes: 60 };
  t.is(effectiveTtlMinutes(undefined, plan), 15);
  t.is(effectiveTtlMinutes(30, plan), 30);
  t.is(effectiveTtlMinutes(61, plan), 60);
});

test('local parts are 16 base32 characters and do not repeat', (t) => {
  const seen = new Set(Array.from({ length: 2000 }, randomLocalPart));
  t.is(seen.size, 2000);
  for (const s of seen) t.regex(s, /^[a-z2-7]{16}$/);
});
