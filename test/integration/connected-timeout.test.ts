import test from 'ava';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { connectedFixture } from '../helpers/connected.js';
import { call } from '../helpers/tenants.js';

/**
 * A proxy in front of Dovecot that swallows the first client line matching `stall` (the server never sees the
 * command, so it never answers) and forwards everything else, both ways.
 */
async function swallowingProxy(target: number, stall: RegExp) {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(target, '127.0.0.1');
    sockets.add(client).add(upstream);
    let pending = '';
    let swallowed = false;
    client.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl + 1);
        pending = pending.slice(nl + 1);
        if (!swallowed && stall.test(line)) swallowed = true;
        else upstream.write(Buffer.from(line, 'latin1'));
      }
    });
    upstream.pipe(client);
    const close = () => (client.destroy(), upstream.destroy());
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

test('a command that times out: 504 imap_timeout, and the session still ends with LOGOUT on the wire', async (t) => {
  const fx = await connectedFixture({
    users: [{ user: 'alice', password: 'alice-Timeout-pw' }],
    proxy: (port) => swallowingProxy(port, /^\S+ (EXAMINE|SELECT) /i),
    env: { IMAP_TIMEOUT_MS: '1000' },
  });
  t.teardown(() => fx.stop());
  const { dv, sys, owner } = fx;
  const created = await call(sys, 'POST', '/api/v1/mailboxes', {
    token: owner.apiKey,
    body: { kind: 'connected', address: 'slow@example.org', imap: fx.imap('alice') },
  });
  t.is(created.status, 201, created.text);
  const before = await dv.waitForLog((c) => c.logins === 1 && c.loggedOut === 1);

  const started = Date.now();
  const r = await call(sys, 'GET', '/api/v1/mailboxes/slow@example.org/messages', { token: owner.apiKey });
  t.is(r.status, 504);
  t.is(r.body.error.code, 'imap_timeout');
  t.true(Date.now() - started < 4_000, 'bounded by IMAP_TIMEOUT_MS');
  // imapflow's logout() would wait behind the swallowed EXAMINE: the LOGOUT Dovecot saw was written on the socket
  const after = await dv.waitForLog((c) => c.logins === before.logins + 1 && c.loggedOut === before.loggedOut + 1);
  t.is(after.logins, after.loggedOut, 'ended by LOGOUT, not by a dropped connection');
});
