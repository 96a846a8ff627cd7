import { createHmac, randomBytes } from 'node:crypto';

/**
 * Standard Webhooks 1.0 (https://www.standardwebhooks.com/), exactly: the secret is `whsec_` + standard padded
 * base64 of 32 random bytes; the key is those bytes. Each attempt is signed at its own time:
 * `webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`, one per valid secret separated by
 * a space (rotation overlap: the new secret first). Pure: no I/O.
 */
export const SECRET_PREFIX = 'whsec_';

export const newWebhookSecret = (): string => SECRET_PREFIX + randomBytes(32).toString('base64');

/** The HMAC key of a `whsec_` secret. */
export function secretKey(secret: string): Buffer {
  if (!secret.startsWith(SECRET_PREFIX)) throw new Error('a webhook secret starts with whsec_');
  return Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
}

export function signature(secret: string, id: string, timestamp: number, body: string | Buffer): string {
  const mac = createHmac('sha256', secretKey(secret));
  mac.update(`${id}.${timestamp}.`);
  mac.update(body);
  return `v1,${mac.digest('base64')}`;
}

/** The three headers of one attempt (`secrets`: the current one first, then a previous one still valid). */
export function signedHeaders(
  secrets: readonly string[],
  id: string,
  body: string | Buffer,
  now: Date = new Date(),
): Record<string, string> {
  const timestamp = Math.floor(now.getTime() / 1000);
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': secrets.map((s) => signature(s, id, timestamp, body)).join(' '),
  };
}
