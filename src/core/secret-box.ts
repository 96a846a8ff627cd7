import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Secrets at rest (connected-mailbox passwords, webhook secrets): AES-256-GCM, a random 12-byte IV per value,
 * one Buffer per value (a `bytea` column):
 *
 *   version (1 byte, 1) | key id (1 byte) | iv (12) | tag (16) | ciphertext (UTF-8 of the plaintext, same length)
 *
 * The GCM additional data is the two header bytes followed by the caller's `aad` in UTF-8. Callers pass
 * `"<table>.<column>:<row id>"`, so a ciphertext copied to another row or column does not open, and the header
 * is bound too (a changed version or key id never decrypts under another interpretation).
 *
 * The key id is the first byte of SHA-256(key): stable across restarts, the same on every process, and no key
 * material beyond 8 bits of a hash. A ring holds the current key (seals and opens) and optionally the previous
 * one (opens only), so keys rotate without downtime: set the new key, keep the old one as previous, reseal
 * every value whose `needsRotation` is true, then drop the previous key.
 *
 * Pure: no I/O, no logging. Error messages never contain key material, plaintext or the AAD's values.
 */

export const SECRET_BOX_VERSION = 1;
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** version + key id + iv + tag: the size of a sealed empty string. */
export const SEALED_OVERHEAD = 2 + IV_BYTES + TAG_BYTES;

export type SecretBoxErrorCode =
  | 'unknown_key' // sealed under a key that is neither the current nor the previous one
  | 'bad_format' // not a sealed value: too short, not a Buffer, or not UTF-8 inside
  | 'unsupported_version' // the first byte is not a version this code reads
  | 'auth_failed' // the tag does not match: tampered, truncated, wrong AAD (another row or column)
  | 'invalid_key' // createKeyRing: a key that is not 32 bytes of standard base64, or two colliding keys
  | 'invalid_input'; // seal: an empty AAD or a string with a lone surrogate (it would not round-trip)

export class SecretBoxError extends Error {
  readonly code: SecretBoxErrorCode;
  constructor(code: SecretBoxErrorCode, message: string) {
    super(message);
    this.name = 'SecretBoxError';
    this.code = code;
  }
}

interface RingKey {
  id: number;
  key: Buffer;
}

/**
 * An opaque key ring: only the key ids are visible. The keys themselves live in a module-private WeakMap, so
 * logging, inspecting or serialising a ring never shows them.
 */
export interface KeyRing {
  readonly currentKeyId: number;
  readonly previousKeyId: number | null;
}

const KEYS = new WeakMap<KeyRing, { current: RingKey; previous: RingKey | null }>();

/** 32 bytes written as standard padded base64: 43 characters of the alphabet, then one `=`. */
const BASE64_KEY = /^[A-Za-z0-9+/]{43}=$/;

/** The names used in error messages: the configuration variables, by default. */
export interface KeyNames {
  current: string;
  previous: string;
}
const DEFAULT_NAMES: KeyNames = { current: 'CREDENTIALS_KEY', previous: 'CREDENTIALS_KEY_PREVIOUS' };

function decodeKey(value: string, name: string): RingKey {
  const hint = 'generate one with `openssl rand -base64 32`';
  if (value === '') throw new SecretBoxError('invalid_key', `${name}: is empty; ${hint}`);
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0) {
    const length = typeof value === 'string' ? `${value.length} characters` : typeof value;
    throw new SecretBoxError(
      'invalid_key',
      `${name}: not standard padded base64 (A-Z a-z 0-9 + /, = padding; a value of ${length}); ${hint}`,
    );
  }
  if (!BASE64_KEY.test(value)) {
    const bytes = Buffer.from(value, 'base64').length;
    throw new SecretBoxError('invalid_key', `${name}: decodes to ${bytes} bytes, needs exactly ${KEY_BYTES}; ${hint}`);
  }
  const key = Buffer.from(value, 'base64');
  // the last character before '=' carries 2 unused bits: only the canonical spelling is accepted
  if (key.toString('base64') !== value) {
    throw new SecretBoxError('invalid_key', `${name}: not canonical base64 (non-zero padding bits); ${hint}`);
  }
  return { id: createHash('sha256').update(key).digest()[0]!, key };
}

/** A ring from the current key and an optional previous one, each 32 bytes as standard base64. */
export function createKeyRing(keys: { current: string; previous?: string }, names: KeyNames = DEFAULT_NAMES): KeyRing {
  const current = decodeKey(keys.current, names.current);
  const previous = keys.previous === undefined ? null : decodeKey(keys.previous, names.previous);
  if (previous && previous.key.equals(current.key)) {
    throw new SecretBoxError('invalid_key', `${names.previous} is the same key as ${names.current}: unset it`);
  }
  if (previous && previous.id === current.id) {
    throw new SecretBoxError(
      'invalid_key',
      `${names.current} and ${names.previous} share the key id 0x${hex(current.id)} (first byte of their SHA-256), ` +
        `so a sealed value could not say which key it needs: generate another ${names.current}`,
    );
  }
  const ring: KeyRing = Object.freeze({ currentKeyId: current.id, previousKeyId: previous?.id ?? null });
  KEYS.set(ring, { current, previous });
  return ring;
}

/** A new key for CREDENTIALS_KEY: 32 random bytes, standard base64. */
export const generateKey = (): string => randomBytes(KEY_BYTES).toString('base64');

/** Encrypts `plaintext` under the ring's current key, bound to `aad` (`"<table>.<column>:<row id>"`). */
export function seal(ring: KeyRing, plaintext: string, aad: string): Buffer {
  const { current } = keysOf(ring);
  checkAad(aad);
  if (typeof plaintext !== 'string' || !plaintext.isWellFormed()) {
    throw new SecretBoxError('invalid_input', 'plaintext must be a well-formed string (no lone surrogates)');
  }
  const header = Buffer.from([SECRET_BOX_VERSION, current.id]);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', current.key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(additionalData(header, aad));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([header, iv, cipher.getAuthTag(), body]);
}

/** Decrypts a value sealed under the current or the previous key; throws a SecretBoxError otherwise. */
export function open(ring: KeyRing, sealed: Buffer, aad: string): string {
  checkAad(aad);
  const key = keyFor(ring, sealed);
  const header = sealed.subarray(0, 2);
  const iv = sealed.subarray(2, 2 + IV_BYTES);
  const tag = sealed.subarray(2 + IV_BYTES, SEALED_OVERHEAD);
  const decipher = createDecipheriv('aes-256-gcm', key.key, iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(additionalData(header, aad));
  decipher.setAuthTag(tag);
  let bytes: Buffer;
  try {
    bytes = Buffer.concat([decipher.update(sealed.subarray(SEALED_OVERHEAD)), decipher.final()]);
  } catch {
    // node's message says nothing useful ("unable to authenticate data"); no cause is kept on purpose
    throw new SecretBoxError(
      'auth_failed',
      'sealed value did not authenticate (tampered, or sealed for another row or column)',
    );
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new SecretBoxError('bad_format', 'sealed value authenticated but does not hold UTF-8 text');
  }
}

/**
 * True when the value is sealed under the ring's previous key (so `reseal` should move it to the current one).
 * Reads the header only: a malformed value or an unknown key id throws as `open` would; the tag is not checked.
 */
export function needsRotation(ring: KeyRing, sealed: Buffer): boolean {
  return keyFor(ring, sealed).id !== keysOf(ring).current.id;
}

/** Opens with whichever key of the ring sealed it and seals again under the current key (a fresh IV). */
export const reseal = (ring: KeyRing, sealed: Buffer, aad: string): Buffer => seal(ring, open(ring, sealed, aad), aad);

function keysOf(ring: KeyRing): { current: RingKey; previous: RingKey | null } {
  const keys = KEYS.get(ring);
  if (!keys) throw new TypeError('not a key ring made by createKeyRing');
  return keys;
}

/** Checks the layout and finds the key the header names. */
function keyFor(ring: KeyRing, sealed: Buffer): RingKey {
  const { current, previous } = keysOf(ring);
  if (!Buffer.isBuffer(sealed) || sealed.length === 0) {
    throw new SecretBoxError('bad_format', 'sealed value must be a non-empty Buffer');
  }
  if (sealed[0] !== SECRET_BOX_VERSION) {
    throw new SecretBoxError(
      'unsupported_version',
      `sealed value has version ${sealed[0]!}, this code reads ${SECRET_BOX_VERSION}`,
    );
  }
  if (sealed.length < SEALED_OVERHEAD) {
    throw new SecretBoxError(
      'bad_format',
      `sealed value is ${sealed.length} bytes, shorter than its ${SEALED_OVERHEAD}-byte header`,
    );
  }
  const id = sealed[1]!;
  if (id === current.id) return current;
  if (previous && id === previous.id) return previous;
  throw new SecretBoxError(
    'unknown_key',
    `sealed under key id 0x${hex(id)}, which is not the current key (0x${hex(current.id)})` +
      (previous ? ` nor the previous one (0x${hex(previous.id)})` : ', and no previous key is set'),
  );
}

function checkAad(aad: string): void {
  if (typeof aad !== 'string' || aad.length === 0 || !aad.isWellFormed()) {
    throw new SecretBoxError(
      'invalid_input',
      'additional data must be a non-empty well-formed string ("<table>.<column>:<row id>")',
    );
  }
}

const additionalData = (header: Buffer, aad: string): Buffer => Buffer.concat([header, Buffer.from(aad, 'utf8')]);
const hex = (byte: number): string => byte.toString(16).padStart(2, '0');
