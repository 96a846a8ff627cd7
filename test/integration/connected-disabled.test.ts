import test from 'ava';
import { startSystem } from '../helpers/system.js';
import { call, createTenant } from '../helpers/tenants.js';

test('without a credentials key (production without CREDENTIALS_KEY) connecting is a 501 connected_disabled', async (t) => {
  const sys = await startSystem({ roles: ['web'], web: { credentials: undefined } });
  t.teardown(() => sys.stop());
  const owner = await createTenant(sys, 'pro');
  const r = await call(sys, 'POST', '/api/v1/mailboxes', {
    token: owner.apiKey,
    body: {
      kind: 'connected',
      address: 'ops@example.org',
      imap: { host: '127.0.0.1', port: 1, tls: 'none', username: 'u', password: 'p' },
    },
  });
  t.is(r.status, 501);
  t.is(r.body.error.code, 'connected_disabled');
  // hosted mailboxes are not affected
  t.is((await call(sys, 'POST', '/api/v1/mailboxes', { token: owner.apiKey })).status, 201);
});
