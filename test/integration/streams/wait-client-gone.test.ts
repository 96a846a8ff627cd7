import anyTest, { type TestFn } from 'ava';
import { connect } from 'node:net';
import { startSystem, type System } from '../../helpers/system.js';

// A blocking wait holds a hub listener; a client that hangs up during the wait's setup (authentication, the
// mailbox lookup) must not leave one behind for the whole wait. Alone in its file: it counts the hub's listeners.
const test = anyTest as TestFn<{ sys: System }>;
test.before(async (t) => {
  t.context.sys = await startSystem({ env: { TTL_UNIT_MS: '1000' } });
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

const waitFor = async (cond: () => boolean, ms: number) => {
  const until = Date.now() + ms;
  while (!cond() && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  return cond();
};

test('a wait whose client leaves while it is being set up is released at once, not after its whole wait', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox('?ttl_minutes=600');
  const hub = sys.web!.streams.hub;
  const before = hub.size();
  // raw sockets that send the request and hang up 0-10 ms later, while auth and the mailbox lookup run
  for (let i = 0; i < 20; i++) {
    await new Promise<void>((resolve) => {
      const s = connect(sys.web!.port, '127.0.0.1', () => {
        s.write(
          `GET /api/v1/mailboxes/${box.address}/messages?wait=60 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${box.token}\r\n\r\n`,
        );
        setTimeout(() => {
          s.destroy();
          resolve();
        }, i % 11);
      });
      s.on('error', () => resolve());
    });
  }
  t.true(await waitFor(() => hub.size() === before, 5_000), `listeners left: ${hub.size() - before}`);
});
