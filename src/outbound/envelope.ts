import { verpAddress } from '../core/verp.js';

export interface EnvelopeSource {
  /** the outbound message's row id */
  outboundMessageId: string;
  mailbox: { address: string; kind: 'hosted' | 'connected'; bounceVerpDomain: string | null };
  /** MAIL_DOMAINS (hosted mailboxes' VERP domain is the first) */
  mailDomains: readonly string[];
}

/**
 * THE envelope sender (MAIL FROM) of one outbound message, stored as its `envelope_from`. With a bounce secret
 * (BOUNCE_HMAC_SECRET, issue 21): the signed VERP address `bounce+{id}.{hmac16}@{verp domain}`, where the domain is
 * the first of MAIL_DOMAINS for a hosted mailbox and `bounce_verp_domain` for a connected one; a connected mailbox
 * without one keeps its own address. Without a secret: the mailbox address.
 */
export function envelopeFrom(src: EnvelopeSource, bounceSecret?: string): string {
  if (!bounceSecret) return src.mailbox.address;
  const domain = src.mailbox.kind === 'hosted' ? src.mailDomains[0] : src.mailbox.bounceVerpDomain;
  return domain ? verpAddress(src.outboundMessageId, domain, bounceSecret) : src.mailbox.address;
}
