import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Open and click tracking tokens (issue 22): URL-safe (base64url, no padding), HMAC-SHA256 under
 * TRACKING_HMAC_SECRET with a domain-separation prefix per kind, a 128-bit tag, compared in constant time.
 * - open:  base64url(message id (16 bytes) ‖ tag)
 * - click: base64url(message id (16 bytes) ‖ destination (UTF-8) ‖ tag): the destination travels in the token,
 *   so a link still works after the message is purged, and a changed destination fails the tag (no open redirect).
 * Pure: no I/O.
 */
export type TrackingKind = 'open' | 'click';

const TAG_BYTES = 16;
const ID_BYTES = 16;
const PREFIX: Record<TrackingKind, string> = {
  open: 'mailwright/track/open/v1\0',
  click: 'mailwright/track/click/v1\0',
};
/** A click token's destination is at most this long (longer links are left untracked by the caller). */
export const TRACKING_URL_MAX_BYTES = 4096;

const uuidBytes = (id: string): Buffer => {
  const hex = id.replaceAll('-', '');
  if (!/^[0-9a-f]{32}$/i.test(hex)) throw new Error('a tracking token names an outbound message by its UUID');
  return Buffer.from(hex, 'hex');
};
const uuidText = (b: Buffer): string => {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};

const tag = (secret: string, kind: TrackingKind, body: Buffer) =>
  createHmac('sha256', secret).update(PREFIX[kind]).update(body).digest().subarray(0, TAG_BYTES);

export function signTrackingToken(secret: string, kind: 'open', messageId: string): string;
export function signTrackingToken(secret: string, kind: 'click', messageId: string, url: string): string;
export function signTrackingToken(secret: string, kind: TrackingKind, messageId: string, url?: string): string {
  const body =
    kind === 'click' ? Buffer.concat([uuidBytes(messageId), Buffer.from(url ?? '', 'utf8')]) : uuidBytes(messageId);
  return Buffer.concat([body, tag(secret, kind, body)]).toString('base64url');
}

export interface VerifiedToken {
  messageId: string;
  /** click tokens: the destination */
  url?: string;
}

/** The token's content when its tag is right for this kind; undefined for anything changed, truncated or foreign. */
export function verifyTrackingToken(secret: string, kind: TrackingKind, token: string): VerifiedToken | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(token) || token.length > 2 * TRACKING_URL_MAX_BYTES) return undefined;
  const raw = Buffer.from(token, 'base64url');
  // one spelling per token: a non-canonical base64url (other trailing bits) is refused, not read as the same bytes
  if (raw.toString('base64url') !== token) return undefined;
  const min = ID_BYTES + TAG_BYTES;
  if (kind === 'open' ? raw.length !== min : raw.length <= min) return undefined;
  const body = raw.subarray(0, raw.length - TAG_BYTES);
  if (!timingSafeEqual(raw.subarray(raw.length - TAG_BYTES), tag(secret, kind, body))) return undefined;
  const messageId = uuidText(body.subarray(0, ID_BYTES));
  if (kind === 'open') return { messageId };
  const url = body.subarray(ID_BYTES).toString('utf8');
  // the tag held, so this is what was signed; still only ever redirect to http(s)
  if (!/^https?:\/\//i.test(url)) return undefined;
  return { messageId, url };
}

/** The public tracking URLs, under PUBLIC_URL (or the local HTTP address). */
export const trackingUrls = (base: string) => ({
  open: (token: string) => `${base.replace(/\/+$/, '')}/t/o/${token}`,
  click: (token: string) => `${base.replace(/\/+$/, '')}/t/c/${token}`,
});
