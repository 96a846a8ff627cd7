import { randomBytes, webcrypto } from 'node:crypto';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import type { Permission } from '../store/tokens.js';

/**
 * Mailbox (agent) tokens are HS256 JWTs carrying a random `jti`. The signature proves we issued the
 * token; the `agent_tokens` row (found by jti) is the authority on mailbox, permissions, expiry and
 * revocation, so a database copy alone cannot forge a token and a revoked one stops at once.
 */
export const ISSUER = 'mailwright';
export const PERMISSIONS: readonly Permission[] = ['read', 'send', 'manage'];

export interface TokenClaims {
  jti: string;
  mailboxId: string;
}

export function createTokenSigner(secret: string) {
  // imported once: given raw bytes, jose imports a CryptoKey on every call (a stream connect verifies one)
  let imported: Promise<webcrypto.CryptoKey> | undefined;
  const hmacKey = () =>
    (imported ??= webcrypto.subtle.importKey(
      'raw',
      new TextEncoder().encode(secret),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign', 'verify'],
    ));
  return {
    async sign(mailboxId: string, permissions: Permission[]): Promise<{ token: string; jti: string }> {
      const jti = randomBytes(18).toString('base64url');
      const token = await new SignJWT({ mbx: mailboxId, perm: permissions })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setIssuer(ISSUER)
        .setJti(jti)
        .setIssuedAt()
        .sign(await hmacKey());
      return { token, jti };
    },
    /** Returns the claims, or undefined for anything that is not a valid token of ours. */
    async verify(token: string): Promise<TokenClaims | undefined> {
      try {
        const { payload } = await jwtVerify(token, await hmacKey(), { issuer: ISSUER, algorithms: ['HS256'] });
        if (typeof payload.jti !== 'string' || typeof payload.mbx !== 'string') return undefined;
        return { jti: payload.jti, mailboxId: payload.mbx };
      } catch (err) {
        if (err instanceof joseErrors.JOSEError) return undefined;
        throw err;
      }
    },
  };
}

export type TokenSigner = ReturnType<typeof createTokenSigner>;

export const looksLikeJwt = (s: string) => /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(s);
