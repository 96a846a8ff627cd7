import { verify, X509Certificate, type KeyObject } from 'node:crypto';

/**
 * Pure SNS message checks (no I/O): field shape, the string AWS signs for each message type,
 * which URLs may ever be fetched, and the RSA signature itself. The caller fetches certificates.
 */

export type SnsType = 'Notification' | 'SubscriptionConfirmation' | 'UnsubscribeConfirmation';

export interface SnsMessage {
  Type: SnsType;
  MessageId: string;
  TopicArn: string;
  Message: string;
  Timestamp: string;
  SignatureVersion: string;
  Signature: string;
  SigningCertURL: string;
  Subject?: string;
  SubscribeURL?: string;
  Token?: string;
  UnsubscribeURL?: string;
}

/** Why a message is refused; every one of them is a 403 and nothing is fetched or enqueued. */
export class SnsRejected extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'SnsRejected';
  }
}

const TYPES: readonly string[] = ['Notification', 'SubscriptionConfirmation', 'UnsubscribeConfirmation'];
const REQUIRED = [
  'Type',
  'MessageId',
  'TopicArn',
  'Message',
  'Timestamp',
  'SignatureVersion',
  'Signature',
  'SigningCertURL',
] as const;
const OPTIONAL = ['Subject', 'SubscribeURL', 'Token', 'UnsubscribeURL'] as const;

/** Accept a parsed JSON value as an SNS message, or say why not (the fields we sign must be strings). */
export function asSnsMessage(value: unknown): SnsMessage {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new SnsRejected('not_sns', 'body is not an SNS message object');
  const v = value as Record<string, unknown>;
  for (const k of REQUIRED) {
    if (typeof v[k] !== 'string' || v[k] === '')
      throw new SnsRejected(k === 'Signature' || k === 'SigningCertURL' ? 'unsigned' : 'not_sns', `${k} is missing`);
  }
  for (const k of OPTIONAL) {
    if (v[k] !== undefined && typeof v[k] !== 'string') throw new SnsRejected('not_sns', `${k} must be a string`);
  }
  if (!TYPES.includes(v.Type as string))
    throw new SnsRejected('unknown_type', `unknown message Type ${JSON.stringify(v.Type)}`);
  if (v.Type !== 'Notification' && (typeof v.SubscribeURL !== 'string' || typeof v.Token !== 'string')) {
    throw new SnsRejected('not_sns', `${String(v.Type)} without SubscribeURL/Token`);
  }
  return v as unknown as SnsMessage;
}

/**
 * The string SNS signs: "Key\nvalue\n" for each key in this order. Notification: Message, MessageId,
 * Subject (only if present), Timestamp, TopicArn, Type. (Un)SubscriptionConfirmation: Message,
 * MessageId, SubscribeURL, Timestamp, Token, TopicArn, Type.
 */
export function canonicalString(m: SnsMessage): string {
  const keys: Array<keyof SnsMessage> =
    m.Type === 'Notification'
      ? [
          'Message',
          'MessageId',
          ...(m.Subject !== undefined ? (['Subject'] as const) : []),
          'Timestamp',
          'TopicArn',
          'Type',
        ]
      : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
  return keys.map((k) => `${k}\n${m[k] ?? ''}\n`).join('');
}

export const SIGNATURE_DIGEST: Readonly<Record<string, 'sha1' | 'sha256'>> = Object.freeze({
  '1': 'sha1',
  '2': 'sha256',
});

/** sns.<region>.amazonaws.com or sns.<region>.amazonaws.com.cn, e.g. sns.us-east-1, sns.us-gov-west-1, sns.cn-north-1. */
const SNS_HOST = /^sns\.[a-z]{2}(?:-[a-z]+)+-\d{1,2}\.amazonaws\.com(?:\.cn)?$/;

/**
 * Parse a URL that SNS gave us and check it points at Amazon SNS itself: https, an exact
 * sns.<region>.amazonaws.com(.cn) host, no userinfo, no port (not even :443), no fragment.
 * The raw string must begin with exactly "https://<host>/" so nothing the URL parser normalises away
 * (case, default ports, backslashes, credentials) can smuggle in another authority.
 */
export function snsUrl(raw: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new SnsRejected('untrusted_url', `${what} is not a URL`);
  }
  const ok =
    url.protocol === 'https:' &&
    SNS_HOST.test(url.hostname) &&
    url.username === '' &&
    url.password === '' &&
    url.port === '' &&
    url.hash === '' &&
    raw.startsWith(`https://${url.hostname}/`);
  if (!ok) throw new SnsRejected('untrusted_url', `${what} is not an https://sns.<region>.amazonaws.com URL`);
  return url;
}

/** The signing certificate URL: an SNS host (above), a path ending in .pem, no query string. */
export function signingCertUrl(raw: string): URL {
  const url = snsUrl(raw, 'SigningCertURL');
  if (!url.pathname.endsWith('.pem') || url.search !== '')
    throw new SnsRejected('untrusted_url', 'SigningCertURL must name a .pem file');
  return url;
}

/** The SubscribeURL: an SNS host, Action=ConfirmSubscription, for the very topic the message is about. */
export function subscribeUrl(m: SnsMessage): URL {
  const url = snsUrl(m.SubscribeURL ?? '', 'SubscribeURL');
  if (url.searchParams.get('Action') !== 'ConfirmSubscription' || url.searchParams.get('TopicArn') !== m.TopicArn) {
    throw new SnsRejected('untrusted_url', 'SubscribeURL does not confirm this topic');
  }
  return url;
}

/** Checks that need no network, in the order that keeps a forged message from causing any fetch. */
export function precheck(
  m: SnsMessage,
  allowedTopics: ReadonlySet<string>,
): { certUrl: URL; digest: 'sha1' | 'sha256' } {
  if (!allowedTopics.has(m.TopicArn)) throw new SnsRejected('topic_not_allowed', 'TopicArn is not in SES_TOPIC_ARNS');
  const digest = SIGNATURE_DIGEST[m.SignatureVersion];
  if (!digest)
    throw new SnsRejected(
      'unknown_signature_version',
      `SignatureVersion ${JSON.stringify(m.SignatureVersion)} is not supported`,
    );
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(m.Signature)) throw new SnsRejected('bad_signature', 'Signature is not base64');
  const certUrl = signingCertUrl(m.SigningCertURL);
  if (m.Type !== 'Notification') subscribeUrl(m);
  return { certUrl, digest };
}

/** A PEM certificate → its RSA public key, refusing anything expired, not yet valid or not RSA. */
export function publicKeyOf(pem: string, now = new Date()): { key: KeyObject; notAfter: Date } {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch {
    throw new SnsRejected('bad_certificate', 'signing certificate is not a PEM X.509 certificate');
  }
  const notBefore = new Date(cert.validFrom);
  const notAfter = new Date(cert.validTo);
  if (!(notBefore <= now && now <= notAfter))
    throw new SnsRejected('bad_certificate', 'signing certificate is outside its validity period');
  if (cert.publicKey.asymmetricKeyType !== 'rsa')
    throw new SnsRejected('bad_certificate', 'signing certificate does not hold an RSA key');
  return { key: cert.publicKey, notAfter };
}

/** SHA1withRSA (v1) or SHA256withRSA (v2) over the canonical string. */
export function signatureMatches(m: SnsMessage, digest: 'sha1' | 'sha256', key: KeyObject): boolean {
  try {
    return verify(digest, Buffer.from(canonicalString(m), 'utf8'), key, Buffer.from(m.Signature, 'base64'));
  } catch {
    return false;
  }
}
