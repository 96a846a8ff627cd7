import test, { type ExecutionContext } from 'ava';
import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';
import { inspect } from 'node:util';
import {
  SEALED_OVERHEAD,
  SecretBoxError,
  createKeyRing,
  generateKey,
  needsRotation,
  open,
  reseal,
  seal,
  type SecretBoxErrorCode,
} from '../../src/core/secret-box.js';

// Fixed keys (no randomness in which ids collide): the first three of a deterministic sequence with distinct ids.
const idOf = (key: Buffer): number => createHash('sha256').update(key).digest()[0]!;
const candidate = (i: number): Buffer => createHash('sha256').update(`secret-box test key ${i}`).digest();
const [A, B, C] = (() => {
  const keys: Buffer[] = [];
  for (let i = 0; keys.length < 3; i++) {
    const k = candidate(i);
    if (!keys.some((other) => idOf(other) === idOf(k))) keys.push(k);
  }
  return keys.map((k) => k.toString('base64')) as [string, string, string];
})();
const raw = (b64: string): Buffer => Buffer.from(b64, 'base64');

const AAD = 'mailboxes.imap_password_encrypted:01JD3Q8Y0000000000000000AB';
const SECRET = 'hunter2-PLAINTEXT-MARKER-ü';

function throwsCode(t: ExecutionContext, fn: () => unknown, code: SecretBoxErrorCode): SecretBoxError {
  const err = t.throws(fn, { instanceOf: SecretBoxError });
  t.is(err?.code, code);
  return err;
}

/** No error may carry the plaintext or any key, in its message, its JSON or its inspected form. */
function assertClean(t: ExecutionContext, err: Error, secrets: string[]): void {
  const shown = [err.message, JSON.stringify(err), inspect(err, { showHidden: true, depth: null })];
  for (const text of shown) for (const s of secrets) t.false(text.includes(s), `error shows ${s.slice(0, 4)}…`);
}
const keyForms = (...keys: string[]): string[] =>
  keys.flatMap((k) => [k, raw(k).toString('hex'), raw(k).toString('base64url')]);

test('round trip: ASCII, UTF-8, empty string and 64 KB, each of the documented length', (t) => {
  const ring = createKeyRing({ current: A });
  const values = [
    'correct horse battery staple',
    'pässwörd 🔑 密码 \u0000 tab\t',
    '',
    'é🔑x'.repeat(Math.ceil((64 * 1024) / 7)),
  ];
  for (const value of values) {
    const sealed = seal(ring, value, AAD);
    t.is(sealed.length, SEALED_OVERHEAD + Buffer.byteLength(value, 'utf8'));
    t.is(open(ring, sealed, AAD), value);
  }
  t.true(Buffer.byteLength(values[3]!) >= 64 * 1024);
});

test('two seals of the same value differ (fresh IV each time) and both open', (t) => {
  const ring = createKeyRing({ current: A });
  const one = seal(ring, SECRET, AAD);
  const two = seal(ring, SECRET, AAD);
  t.false(one.equals(two));
  t.false(one.subarray(2, 14).equals(two.subarray(2, 14)));
  t.is(open(ring, one, AAD), SECRET);
  t.is(open(ring, two, AAD), SECRET);
});

test('layout pinned: an independent node:crypto decryption reads version | key id | iv | tag | ciphertext', (t) => {
  const ring = createKeyRing({ current: A });
  const sealed = seal(ring, SECRET, AAD);
  t.is(sealed[0], 1);
  t.is(sealed[1], idOf(raw(A)));
  t.is(ring.currentKeyId, idOf(raw(A)));
  const d = createDecipheriv('aes-256-gcm', raw(A), sealed.subarray(2, 14), { authTagLength: 16 });
  d.setAAD(Buffer.concat([sealed.subarray(0, 2), Buffer.from(AAD, 'utf8')]));
  d.setAuthTag(sealed.subarray(14, 30));
  t.is(Buffer.concat([d.update(sealed.subarray(30)), d.final()]).toString('utf8'), SECRET);
});

/** Builds a sealed value by hand from the documented layout, as another implementation would. */
function forge(keyB64: string, plaintext: Buffer, aad: string): Buffer {
  const header = Buffer.from([1, idOf(raw(keyB64))]);
  const iv = Buffer.alloc(12, 7);
  const c = createCipheriv('aes-256-gcm', raw(keyB64), iv, { authTagLength: 16 });
  c.setAAD(Buffer.concat([header, Buffer.from(aad, 'utf8')]));
  const body = Buffer.concat([c.update(plaintext), c.final()]);
  return Buffer.concat([header, iv, c.getAuthTag(), body]);
}

test('layout pinned: a value built by hand from the documented layout opens; non-UTF-8 inside is bad_format', (t) => {
  const ring = createKeyRing({ current: A });
  t.is(open(ring, forge(A, Buffer.from(SECRET, 'utf8'), AAD), AAD), SECRET);
  throwsCode(t, () => open(ring, forge(A, Buffer.from([0xc3, 0x28, 0xff]), AAD), AAD), 'bad_format');
});

test('tampering with each field fails with the right code', (t) => {
  const ring = createKeyRing({ current: A, previous: B });
  const sealed = seal(ring, SECRET, AAD);
  const tampered = (i: number, value?: number): Buffer => {
    const copy = Buffer.from(sealed);
    copy[i] = value ?? copy[i]! ^ 0x01;
    return copy;
  };
  const errors = [
    throwsCode(t, () => open(ring, tampered(0, 2), AAD), 'unsupported_version'),
    throwsCode(t, () => open(ring, tampered(0, 0), AAD), 'unsupported_version'),
    throwsCode(t, () => open(ring, tampered(1, idOf(raw(C))), AAD), 'unknown_key'),
    // the header names the ring's other key: the right format, the wrong key, so the tag fails
    throwsCode(t, () => open(ring, tampered(1, idOf(raw(B))), AAD), 'auth_failed'),
    throwsCode(t, () => open(ring, tampered(2), AAD), 'auth_failed'), // iv, first byte
    throwsCode(t, () => open(ring, tampered(13), AAD), 'auth_failed'), // iv, last byte
    throwsCode(t, () => open(ring, tampered(14), AAD), 'auth_failed'), // tag, first byte
    throwsCode(t, () => open(ring, tampered(29), AAD), 'auth_failed'), // tag, last byte
    throwsCode(t, () => open(ring, tampered(30), AAD), 'auth_failed'), // ciphertext
    throwsCode(t, () => open(ring, tampered(sealed.length - 1), AAD), 'auth_failed'),
    throwsCode(t, () => open(ring, sealed.subarray(0, sealed.length - 1), AAD), 'auth_failed'),
    throwsCode(t, () => open(ring, sealed.subarray(0, SEALED_OVERHEAD), AAD), 'auth_failed'),
    throwsCode(t, () => open(ring, sealed.subarray(0, SEALED_OVERHEAD - 1), AAD), 'bad_format'),
    throwsCode(t, () => open(ring, sealed.subarray(0, 1), AAD), 'bad_format'),
    throwsCode(t, () => open(ring, Buffer.alloc(0), AAD), 'bad_format'),
    throwsCode(t, () => open(ring, Buffer.concat([sealed, Buffer.from([0])]), AAD), 'auth_failed'),
  ];
  for (const err of errors) assertClean(t, err, [SECRET, 'hunter2', ...keyForms(A, B)]);
});

test('every single-bit flip anywhere in a sealed value is refused, never opened to other text', (t) => {
  const ring = createKeyRing({ current: A });
  const sealed = seal(ring, 'pw', AAD);
  for (let i = 0; i < sealed.length; i++) {
    for (let bit = 0; bit < 8; bit++) {
      const copy = Buffer.from(sealed);
      copy[i] = copy[i]! ^ (1 << bit);
      const err = t.throws(() => open(ring, copy, AAD), { instanceOf: SecretBoxError });
      const expected = i === 0 ? 'unsupported_version' : i === 1 ? 'unknown_key' : 'auth_failed';
      if (err?.code !== expected) t.fail(`byte ${i} bit ${bit}: ${err?.code} instead of ${expected}`);
    }
  }
});

test('a ciphertext moved to another row or column does not open (auth_failed)', (t) => {
  const ring = createKeyRing({ current: A });
  const sealed = seal(ring, SECRET, 'mailboxes.imap_password_encrypted:mb1');
  for (const other of [
    'mailboxes.imap_password_encrypted:mb2',
    'mailboxes.smtp_password_encrypted:mb1',
    'mailbox_webhooks.secret_encrypted:mb1',
  ]) {
    const err = throwsCode(t, () => open(ring, sealed, other), 'auth_failed');
    assertClean(t, err, [SECRET, 'mb1', 'mb2', ...keyForms(A)]);
  }
});

test('rotation: the previous key still opens and needsRotation is true; reseal moves the value to the current key', (t) => {
  const before = createKeyRing({ current: A });
  const old = seal(before, SECRET, AAD);
  t.false(needsRotation(before, old));

  const rotating = createKeyRing({ current: B, previous: A });
  t.is(open(rotating, old, AAD), SECRET);
  t.true(needsRotation(rotating, old));

  const moved = reseal(rotating, old, AAD);
  t.false(needsRotation(rotating, moved));
  t.is(moved[1], idOf(raw(B)));
  t.is(open(rotating, moved, AAD), SECRET);
  t.is(open(createKeyRing({ current: B }), moved, AAD), SECRET);
  throwsCode(t, () => open(before, moved, AAD), 'unknown_key');
  throwsCode(t, () => open(createKeyRing({ current: C, previous: A }), moved, AAD), 'unknown_key');
  // reseal checks the tag before sealing again: a value for another row is not laundered into a valid one
  throwsCode(t, () => reseal(rotating, old, 'mailboxes.imap_password_encrypted:other'), 'auth_failed');
});

test('a value sealed under a key the ring does not hold is unknown_key (open, needsRotation and reseal)', (t) => {
  const sealed = seal(createKeyRing({ current: A }), SECRET, AAD);
  for (const ring of [createKeyRing({ current: C }), createKeyRing({ current: C, previous: B })]) {
    const err = throwsCode(t, () => open(ring, sealed, AAD), 'unknown_key');
    t.true(err.message.includes(`0x${idOf(raw(A)).toString(16).padStart(2, '0')}`));
    assertClean(t, err, [SECRET, ...keyForms(A, B, C)]);
    throwsCode(t, () => needsRotation(ring, sealed), 'unknown_key');
    throwsCode(t, () => reseal(ring, sealed, AAD), 'unknown_key');
  }
});

test('bad keys are refused, naming the variable, never echoing the value', (t) => {
  const good = raw(A);
  // the 43rd character carries 2 unused bits: flipping one spells the same bytes in a non-canonical way
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const nonCanonical = A.slice(0, 42) + alphabet[alphabet.indexOf(A[42]!) ^ 1]! + '=';
  const bad: Record<string, string> = {
    empty: '',
    'not base64': 'this is not a key at all, not even close!!',
    base64url: good.toString('base64url'), // also unpadded
    'a - inside': `-${A.slice(1)}`,
    '16 bytes': good.subarray(0, 16).toString('base64'),
    '31 bytes': good.subarray(0, 31).toString('base64'),
    '33 bytes': Buffer.concat([good, Buffer.from([1])]).toString('base64'),
    '32 bytes as hex': good.toString('hex'),
    'trailing newline': `${A}\n`,
    'inner space': `${A.slice(0, 20)} ${A.slice(20)}`,
  };
  if (Buffer.from(nonCanonical, 'base64').equals(good)) bad['non-canonical padding bits'] = nonCanonical;
  t.truthy(bad['non-canonical padding bits'], 'the fixture spells the same 32 bytes differently');
  for (const [label, value] of Object.entries(bad)) {
    const cur = throwsCode(t, () => createKeyRing({ current: value }), 'invalid_key');
    t.true(cur.message.startsWith('CREDENTIALS_KEY: '), `${label}: ${cur.message}`);
    const prev = throwsCode(t, () => createKeyRing({ current: A, previous: value }), 'invalid_key');
    t.true(prev.message.startsWith('CREDENTIALS_KEY_PREVIOUS: '), `${label}: ${prev.message}`);
    const named = throwsCode(
      t,
      () => createKeyRing({ current: value }, { current: 'K1', previous: 'K2' }),
      'invalid_key',
    );
    t.true(named.message.startsWith('K1: '));
    const forms = value.length >= 8 ? [value.trim(), Buffer.from(value, 'base64').toString('hex')] : [];
    for (const err of [cur, prev, named])
      assertClean(
        t,
        err,
        [...forms, ...keyForms(A)].filter((f) => f.length >= 8),
      );
  }
});

test('a previous key equal to the current one, or colliding with it on the key id, is refused', (t) => {
  const same = throwsCode(t, () => createKeyRing({ current: A, previous: A }), 'invalid_key');
  t.regex(same.message, /CREDENTIALS_KEY_PREVIOUS is the same key as CREDENTIALS_KEY/);
  // two different fixed keys whose SHA-256 starts with the same byte
  const firstById = new Map<number, Buffer>();
  let pair: [Buffer, Buffer] | undefined;
  for (let i = 0; !pair; i++) {
    const k = candidate(i);
    const seen = firstById.get(idOf(k));
    if (seen) pair = [seen, k];
    else firstById.set(idOf(k), k);
  }
  const [x, y] = pair.map((k) => k.toString('base64')) as [string, string];
  const err = throwsCode(t, () => createKeyRing({ current: x, previous: y }), 'invalid_key');
  t.regex(err.message, /share the key id 0x[0-9a-f]{2}/);
  assertClean(t, err, keyForms(x, y));
});

test('the ring shows key ids only: JSON and inspect never reveal a key', (t) => {
  const ring = createKeyRing({ current: A, previous: B });
  t.deepEqual(JSON.parse(JSON.stringify(ring)), { currentKeyId: idOf(raw(A)), previousKeyId: idOf(raw(B)) });
  const shown = [
    JSON.stringify(ring),
    inspect(ring, { showHidden: true, depth: null }),
    `${ring as unknown as string}`,
  ];
  for (const text of shown) for (const s of keyForms(A, B)) t.false(text.includes(s));
  t.throws(() => seal({ currentKeyId: ring.currentKeyId, previousKeyId: null }, SECRET, AAD), {
    instanceOf: TypeError,
  });
});

test('seal refuses an empty AAD and a string that would not round-trip; open refuses an empty AAD', (t) => {
  const ring = createKeyRing({ current: A });
  throwsCode(t, () => seal(ring, SECRET, ''), 'invalid_input');
  throwsCode(t, () => open(ring, seal(ring, SECRET, AAD), ''), 'invalid_input');
  const lone = throwsCode(t, () => seal(ring, `${SECRET}\ud800`, AAD), 'invalid_input');
  assertClean(t, lone, [SECRET, 'hunter2']);
});

test('generateKey: 32 random bytes in standard base64, accepted by createKeyRing', (t) => {
  const keys = new Set(Array.from({ length: 20 }, () => generateKey()));
  t.is(keys.size, 20);
  for (const key of keys) {
    t.regex(key, /^[A-Za-z0-9+/]{43}=$/);
    t.is(Buffer.from(key, 'base64').length, 32);
    const ring = createKeyRing({ current: key });
    t.is(open(ring, seal(ring, SECRET, AAD), AAD), SECRET);
  }
});
