import test from 'ava';
import { grantToken, type GrantInput } from '../../src/access/token-grant.js';
import { AppError } from '../../src/core/errors.js';

const now = new Date('2026-11-23T12:00:00Z');
const min = 60_000;
const base: GrantInput = {
  requested: ['read'],
  mailbox: { kind: 'hosted', expiresAt: new Date(now.getTime() + 60 * min) },
  limits: { defaultTtlMinutes: 24 * 60, maxTtlMinutes: 30 * 24 * 60, unitMs: min },
  now,
};

test('permissions are deduplicated into the canonical order', (t) => {
  t.deepEqual(grantToken({ ...base, requested: ['manage', 'read', 'read'] }).permissions, ['read', 'manage']);
});

test('a minting token cannot grant a permission it lacks', (t) => {
  const parent = { permissions: ['read' as const, 'manage' as const], expiresAt: new Date(now.getTime() + 30 * min) };
  const err = t.throws(() => grantToken({ ...base, requested: ['read', 'send'], parent }));
  t.true(err instanceof AppError);
  t.is((err as AppError).status, 403);
  t.is((err as AppError).code, 'permission_escalation');
  t.deepEqual(grantToken({ ...base, requested: ['read'], parent }).permissions, ['read']);
});

test('expiry: requested TTL, else the default, capped by the mailbox, the parent and the maximum', (t) => {
  const at = (m: number) => new Date(now.getTime() + m * min);
  t.deepEqual(grantToken({ ...base, ttlMinutes: 10 }).expiresAt, at(10));
  t.deepEqual(grantToken(base).expiresAt, at(60), 'default (1 day) capped by a mailbox ending in 60 min');
  t.deepEqual(grantToken({ ...base, ttlMinutes: 90 }).expiresAt, at(60), 'never beyond the hosted mailbox');
  const parent = { permissions: ['read' as const], expiresAt: at(15) };
  t.deepEqual(grantToken({ ...base, ttlMinutes: 30, parent }).expiresAt, at(15), 'never beyond the minting token');
  const connected = { kind: 'connected', expiresAt: null };
  t.deepEqual(
    grantToken({ ...base, mailbox: connected }).expiresAt,
    at(24 * 60),
    'default for a mailbox without an end',
  );
  t.deepEqual(
    grantToken({ ...base, mailbox: connected, ttlMinutes: 10 ** 7 }).expiresAt,
    at(30 * 24 * 60),
    'the configured maximum',
  );
});
