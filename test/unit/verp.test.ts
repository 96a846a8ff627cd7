import test from 'ava';
import { createHmac } from 'node:crypto';
import { isVerpLocalPart, verifyVerpAddress, verifyVerpLocalPart, verpAddress } from '../../src/core/verp.js';

const SECRET = 'a'.repeat(32) + '-current';
const OLD = 'b'.repeat(32) + '-previous';
const ID = '0b7c2a4e-59f1-4d3a-8e2b-6a1c9d0f3e57';

// computed here from the description with plain node:crypto, so the format cannot drift silently
const expectedTag = (id: string, secret: string) =>
  createHmac('sha256', secret).update(`bounce-verp:${id}`).digest('hex').slice(0, 16);

test('verpAddress is bounce+{id}.{hmac16}@{domain}, lower case', (t) => {
  const a = verpAddress(ID.toUpperCase(), 'Mail.Example.ORG', SECRET);
  t.is(a, `bounce+${ID}.${expectedTag(ID, SECRET)}@mail.example.org`);
});

test('verify accepts its own address in any letter case, under the current or the previous secret', (t) => {
  const a = verpAddress(ID, 'example.org', OLD);
  t.deepEqual(verifyVerpAddress(a.toUpperCase(), [SECRET, OLD]), { ok: true, id: ID });
  t.deepEqual(verifyVerpAddress(a, [SECRET]), { ok: false, reason: 'bad_signature' });
  t.deepEqual(verifyVerpAddress(a, [undefined, '']), { ok: false, reason: 'no_secret' });
});

test('verify refuses tampered, truncated, unsigned and foreign local parts', (t) => {
  const tag = expectedTag(ID, SECRET);
  const other = '1b7c2a4e-59f1-4d3a-8e2b-6a1c9d0f3e57';
  t.is(verifyVerpLocalPart(`bounce+${other}.${tag}`, [SECRET]).ok, false); // the tag of another id
  t.deepEqual(verifyVerpLocalPart(`bounce+${ID}.${tag.slice(0, 15)}`, [SECRET]), { ok: false, reason: 'malformed' });
  t.deepEqual(verifyVerpLocalPart(`bounce+${ID}`, [SECRET]), { ok: false, reason: 'malformed' });
  t.deepEqual(verifyVerpLocalPart('alice', [SECRET]), { ok: false, reason: 'not_verp' });
  const flipped = (tag[0] === '0' ? '1' : '0') + tag.slice(1);
  t.deepEqual(verifyVerpLocalPart(`bounce+${ID}.${flipped}`, [SECRET]), { ok: false, reason: 'bad_signature' });
  t.true(isVerpLocalPart('Bounce+anything'));
  t.false(isVerpLocalPart('bounces'));
  t.throws(() => verpAddress('not-a-uuid', 'example.org', SECRET));
});
