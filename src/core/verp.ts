import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed VERP return paths (issue 21): `bounce+{id}.{hmac16}@{domain}`, where `id` is an outbound message id as the
 * API shows it (a lower-case UUID) and `hmac16` the first 16 lower-case hex digits of
 * HMAC-SHA256(key = secret as UTF-8, message = "bounce-verp:" + id). Pure: no I/O, no config; the secrets are passed
 * in (current first, then the previous one during a rotation).
 */
export const VERP_PREFIX = 'bounce+';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const LOCAL = /^bounce\+([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([0-9a-f]{16})$/;

export type VerpCheck =
  { ok: true; id: string } | { ok: false; reason: 'not_verp' | 'malformed' | 'bad_signature' | 'no_secret' };

export function verpSignature(id: string, secret: string): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(`bounce-verp:${id}`).digest('hex').slice(0, 16);
}

/** The envelope sender for outbound message `id`: `bounce+{id}.{hmac16}@{domain}`. */
export function verpAddress(id: string, domain: string, secret: string): string {
  const lower = id.toLowerCase();
  if (!UUID.test(lower)) throw new TypeError('verpAddress: id must be a UUID');
  return `${VERP_PREFIX}${lower}.${verpSignature(lower, secret)}@${domain.toLowerCase()}`;
}

/** True when a local part looks like ours (`bounce+…`), signed or not: such an RCPT is never a mailbox. */
export function isVerpLocalPart(local: string): boolean {
  return local.toLowerCase().startsWith(VERP_PREFIX);
}

/**
 * Verifies a local part (case-insensitive) against each secret in constant time. `not_verp` when it does not start
 * with `bounce+`, `malformed` when the id or tag has the wrong shape (a truncated HMAC included), `bad_signature`
 * when no secret signs it, `no_secret` when none is configured.
 */
export function verifyVerpLocalPart(local: string, secrets: readonly (string | undefined)[]): VerpCheck {
  const lower = local.toLowerCase();
  if (!lower.startsWith(VERP_PREFIX)) return { ok: false, reason: 'not_verp' };
  const m = LOCAL.exec(lower);
  if (!m) return { ok: false, reason: 'malformed' };
  const id = m[1] as string;
  const given = Buffer.from(m[2] as string, 'utf8');
  const usable = secrets.filter((s): s is string => typeof s === 'string' && s.length > 0);
  if (usable.length === 0) return { ok: false, reason: 'no_secret' };
  let match = false;
  for (const secret of usable) {
    // every secret is tried (no early exit), each comparison in constant time
    if (timingSafeEqual(Buffer.from(verpSignature(id, secret), 'utf8'), given)) match = true;
  }
  return match ? { ok: true, id } : { ok: false, reason: 'bad_signature' };
}

/** Splits `local@domain` at the last `@` and verifies the local part. */
export function verifyVerpAddress(address: string, secrets: readonly (string | undefined)[]): VerpCheck {
  const at = address.lastIndexOf('@');
  if (at <= 0) return { ok: false, reason: 'not_verp' };
  return verifyVerpLocalPart(address.slice(0, at), secrets);
}
