import test from 'ava';
import { randomUUID } from 'node:crypto';
import { cachedMailboxLookup } from '../../src/pipeline/mailbox-cache.js';
import { insertConnected } from '../../src/store/connected-mailboxes.js';
import { startSystem, TEST_DOMAIN } from '../helpers/system.js';
import { createTenant } from '../helpers/tenants.js';

/**
 * A connected mailbox never receives hosted mail: the delivery lookup (and its cache) match hosted mailboxes
 * only, and a hosted mailbox may hold an address that some tenant also connected (the partial unique indexes).
 * The connected row is written directly: the API refuses an address at MAIL_DOMAINS (422 address_reserved),
 * which is a second wall, not the one tested here.
 */
test('SMTP delivery lookups match hosted mailboxes only', async (t) => {
  const sys = await startSystem({ roles: [] });
  t.teardown(() => sys.stop());
  const owner = await createTenant(sys, 'pro');
  const address = `shared@${TEST_DOMAIN}`;
  const account = {
    host: '127.0.0.1',
    port: 993,
    tls: 'implicit' as const,
    username: 'u',
    sealedPassword: Buffer.alloc(31),
  };
  const connected = await insertConnected(sys.deps.db, {
    id: randomUUID(),
    address,
    ownerUserId: owner.userId,
    planId: 'pro',
    imap: account,
    smtp: null,
  });
  t.is(connected.kind, 'connected');
  t.is(await sys.deps.stores.mailboxes.findByAddress(address), undefined, 'the lookup does not see it');
  const cached = cachedMailboxLookup(sys.deps.stores.mailboxes, { ttlMs: 60_000, maxEntries: 10 });
  t.is(await cached(address), undefined, 'nor does the cached one');

  // the same address as a hosted mailbox: allowed, and that is the one delivery finds
  const hosted = await sys.deps.stores.mailboxes.create({
    address,
    ownerUserId: null,
    planId: 'anonymous',
    ttlMs: 60_000,
  });
  t.is((await sys.deps.stores.mailboxes.findByAddress(address))?.id, hosted.id);
  t.is((await cached(address))?.id, hosted.id);
  // a second hosted one at that address is still refused (hosted addresses stay unique)
  await t.throwsAsync(
    sys.deps.stores.mailboxes.create({ address, ownerUserId: null, planId: 'anonymous', ttlMs: 60_000 }),
    { message: /mailboxes_address_key/ },
  );
  t.is((await sys.deps.stores.mailboxes.findConnected(owner.userId, address.toUpperCase()))?.id, connected.id);
});
