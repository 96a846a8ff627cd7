import { once } from 'node:events';
import { Server, type AddressInfo } from 'node:net';
import test from 'ava';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import { RawSmtp } from '../../helpers/smtp-client.js';

// docs/internals.md, row "smtp-server connections/server/send": the ingress reaches the connection of a
// session through `server.connections` (matched by `connection.session === session`), answers with
// `connection.send()` (421 time limit, drain) and wraps `send` to rewrite smtp-server's own 552 for a declared
// SIZE (src/ingress/smtp/server.ts); the role listens and closes through `server.server`
// (src/roles/smtp.ts, src/ingress/smtp/drain.ts), and drain counts sessions with `session.envelope.mailFrom`
// set as busy. None of it is in smtp-server's README (the typings declare it).
const ROW = 'internals.md row "smtp-server connections/server/send"';

type Connection = SMTPServer['connections'] extends Set<infer C> ? C : never;

async function start(t: import('ava').ExecutionContext, onConnection: (c: Connection) => void) {
  const server: SMTPServer = new SMTPServer({
    size: 1000,
    authOptional: true,
    logger: false,
    disabledCommands: ['STARTTLS', 'AUTH'],
    onConnect(session: SMTPServerSession, callback) {
      const connection = [...server.connections].find((c) => c.session === session);
      t.truthy(connection, `${ROW}: no connection in server.connections has the hook's session object`);
      if (connection) onConnection(connection);
      callback();
    },
  });
  t.true(server.server instanceof Server, `${ROW}: server.server is not the net.Server`);
  t.true(server.connections instanceof Set, `${ROW}: server.connections is not a Set`);
  server.listen(0, '127.0.0.1');
  await once(server.server, 'listening');
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { server, port: (server.server.address() as AddressInfo).port };
}

test('the declared-SIZE refusal goes through connection.send(552, text), which a wrapper can rewrite', async (t) => {
  const { port } = await start(t, (connection) => {
    t.is(typeof connection.send, 'function', `${ROW}: connection.send is gone`);
    const send = connection.send.bind(connection);
    connection.send = (code, data, context) => send(code, code === 552 ? '5.3.4 rewritten' : data, context);
  });
  const { client } = await RawSmtp.open(port);
  t.teardown(() => client.socket.destroy());
  await client.command('EHLO test.local');
  t.is(
    await client.command('MAIL FROM:<a@example.org> SIZE=99999'),
    '552 5.3.4 rewritten',
    `${ROW}: smtp-server no longer answers a declared SIZE through connection.send`,
  );
});

test('session.envelope.mailFrom marks a transaction in progress; connection.send(421) answers and closes', async (t) => {
  let conn: Connection | undefined;
  const { server, port } = await start(t, (c) => {
    conn = c;
  });
  const { client } = await RawSmtp.open(port);
  t.teardown(() => client.socket.destroy());
  await client.command('EHLO test.local');
  t.falsy(conn?.session.envelope.mailFrom, ROW);
  t.regex(await client.command('MAIL FROM:<a@example.org>'), /^250/);
  t.truthy(conn?.session.envelope.mailFrom, `${ROW}: session.envelope.mailFrom is not set during a transaction`);
  t.regex(await client.command('RSET'), /^250/);
  t.falsy(conn?.session.envelope.mailFrom, `${ROW}: the envelope is not reset`);

  conn!.send(421, 'Service shutting down');
  t.is(await client.reply(), '421 Service shutting down', ROW);
  const closed = await Promise.race([
    once(client.socket, 'close').then(() => true),
    new Promise((r) => setTimeout(() => r(false), 5_000)),
  ]);
  t.true(closed, `${ROW}: send(421) did not close the connection`);
  const until = Date.now() + 5_000;
  while (server.connections.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  t.is(server.connections.size, 0, `${ROW}: the closed connection is still in server.connections`);
});
