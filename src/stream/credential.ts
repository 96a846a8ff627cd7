import type { Principal } from '../access/principal.js';

/**
 * The identity a stream counts against and is closed by: the API key id or the mailbox token's jti
 * (never the secret). Anonymous callers never open streams.
 */
export type CredentialKey = `key:${string}` | `token:${string}`;

/** Who a stream belongs to: anonymous callers never open one. */
export type StreamPrincipal = Exclude<Principal, { kind: 'anonymous' }>;

export const apiKeyCredential = (keyId: string): CredentialKey => `key:${keyId}`;

export function credentialOf(p: StreamPrincipal): CredentialKey {
  return p.kind === 'user' ? apiKeyCredential(p.apiKeyId) : `token:${p.jti}`;
}
