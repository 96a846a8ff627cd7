import { Forbidden } from '../core/errors.js';
import type { Permission } from '../store/tokens.js';
import { PERMISSIONS } from './tokens.js';

export interface GrantInput {
  requested: Permission[];
  ttlMinutes?: number;
  /** the minting token (absent when an API key mints) */
  parent?: { permissions: Permission[]; expiresAt: Date };
  mailbox: { kind: string; expiresAt: Date | null };
  limits: { defaultTtlMinutes: number; maxTtlMinutes: number; unitMs: number };
  now: Date;
}

export interface Grant {
  permissions: Permission[];
  expiresAt: Date;
}

/**
 * What a new agent token may carry. Permissions: never more than the minting token holds (403
 * `permission_escalation`). Expiry: the requested TTL (or the default), silently capped by the
 * configured maximum, the mailbox's own end (hosted mailboxes) and the minting token's expiry.
 */
export function grantToken(input: GrantInput): Grant {
  const permissions = PERMISSIONS.filter((p) => input.requested.includes(p));
  if (input.parent) {
    const extra = permissions.filter((p) => !input.parent!.permissions.includes(p));
    if (extra.length) {
      throw new Forbidden(
        `a token cannot grant permissions it does not hold: ${extra.join(', ')}`,
        'permission_escalation',
      );
    }
  }
  const at = (minutes: number) => input.now.getTime() + minutes * input.limits.unitMs;
  const caps = [at(input.limits.maxTtlMinutes)];
  if (input.mailbox.kind === 'hosted' && input.mailbox.expiresAt) caps.push(input.mailbox.expiresAt.getTime());
  if (input.parent) caps.push(input.parent.expiresAt.getTime());
  const wanted = at(input.ttlMinutes ?? input.limits.defaultTtlMinutes);
  return { permissions, expiresAt: new Date(Math.min(wanted, ...caps)) };
}
