import anyTest, { type TestFn } from 'ava';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { connectedFixture, type ConnectedFixture } from '../helpers/connected.js';
import { call } from '../helpers/tenants.js';

/** The password of the account; a hostile server quotes it back in its refusal. */
const PASSWORD = 'echo-Secret-pw-5e71';
const BOX = 'echo@example.org';

/**
 * A hostile IMAP server on loopback: greets, answers CAPABILITY, and refuses every LOGIN with a NO whose text
 * repeats the whole command line, password included, with a control character and padding past 200 characters.
 */
async function echoingServer(): Promise<{ port: number; server: Server; logins: number }> {
  const state = { logins: 0 };
  const server = createServer((socket) => {
    socket.write('* OK [CAPABILITY IMAP4rev1] hostile ready\r\n');
    let pending = '';
    socket.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      let nl: number;
      while ((nl = pending.indexOf('\r\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 2);
        const [tag, command] = line.split(' ');
        if (/^CAPABILITY$/i.test(command ?? '')) {
          socket.write(`* CAPABILITY IMAP4rev1\r\n${tag} OK done\r\n`);
        } else if (/^LOGIN$/i.test(command ?? '')) {
          state.logins++;
          socket.write(`${tag} NO [AUTHENTICATIONFAILED] rejected \u0007${line} ${'x'.repeat(300)}\r\n`);
        } else if (/^LOGOUT$/i.test(command ?? '')) {
          socket.end(`* BYE\r\n${tag} OK bye\r\n`);
        } else socket.write(`${tag} BAD unknown\r\n`);
      }
    });
    socket.on('error', () => undefined);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return Object.assign(state, { port: (server.address() as AddressInfo).port, server });
}

const test = anyTest as TestFn<ConnectedFixture & { hostile: Awaited<ReturnType<typeof echoingServer>> }>;

test.before(async (t) => {
  const hostile = await echoingServer();
  try {
    t.context = {
      ...(await connectedFixture({ users: [{ user: 'alice', password: PASSWORD }], env: { IMAP_TIMEOUT_MS: '3000' } })),
      hostile,
    };
  } catch (err) {
    hostile.server.close();
    throw err;
  }
});
test.after.always(async (t) => {
  await t.context.stop?.();
  t.context.hostile?.server.close();
});

const account = (port: number) => ({ host: '127.0.0.1', port, tls: 'none', username: 'alice', password: PASSWORD });
const fitForMessage = (
  t: { false(v: boolean, m?: string): void; true(v: boolean, m?: string): void },
  text: string,
  message: string,
) => {
  t.false(text.includes(PASSWORD), 'the password is not in the answer');
  t.true(message.includes('***'), `the password is replaced by ***: ${message}`);
  // eslint-disable-next-line no-control-regex -- control characters are what must not be there
  t.false(/[\u0000-\u001f]/.test(message), 'no control characters');
};

test.serial(
  'creating against a server that echoes the password: 422 imap_login_failed with *** in its place',
  async (t) => {
    const { sys, owner, hostile } = t.context;
    const r = await call(sys, 'POST', '/api/v1/mailboxes', {
      token: owner.apiKey,
      body: { kind: 'connected', address: BOX, imap: account(hostile.port) },
    });
    t.is(r.status, 422, r.text);
    t.is(r.body.error.code, 'imap_login_failed');
    t.is(hostile.logins, 1, 'the server got the LOGIN');
    fitForMessage(t, r.text, r.body.error.message);
    // the server's text is cut to 200 characters inside the message
    t.true(r.body.error.message.length <= 'the IMAP server refused the login: '.length + 200, r.body.error.message);
    t.is(await sys.deps.db('mailboxes').where({ address: BOX }).first(), undefined, 'nothing stored');
  },
);

test.serial(
  'reading after the account moved to a server that echoes the password: 502 imap_auth_failed, ***',
  async (t) => {
    const { sys, owner, dv, hostile } = t.context;
    const created = await call(sys, 'POST', '/api/v1/mailboxes', {
      token: owner.apiKey,
      body: { kind: 'connected', address: BOX, imap: account(dv.port) },
    });
    t.is(created.status, 201, created.text);
    // the account's server now answers from the hostile one (as a DNS change would send it there)
    await sys.deps.db('mailboxes').where({ address: BOX, kind: 'connected' }).update({ imap_port: hostile.port });
    const r = await call(sys, 'GET', `/api/v1/mailboxes/${BOX}/messages`, { token: owner.apiKey });
    t.is(r.status, 502, r.text);
    t.is(r.body.error.code, 'imap_auth_failed');
    fitForMessage(t, r.text, r.body.error.message);
  },
);
