import anyTest, { type TestFn } from 'ava';
import { RawSmtp } from '../../helpers/smtp-client.js';
import { startSystem, type System } from '../../helpers/system.js';
import { pause } from './mode.js';

// SMTP_MAX_CLIENTS and SMTP_SOCKET_TIMEOUT_MS against idle, slow and too many clients.
const test = anyTest as TestFn<{ sys: System }>;
test.before(async (t) => {
  t.context.sys = await startSystem({
    roles: ['web', 'smtp', 'worker'],
    env: { SMTP_MAX_CLIENTS: '4', SMTP_SOCKET_TIMEOUT_MS: '1500' },
  });
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

test('idle, slow and excess SMTP clients are bounded and a normal client is still served', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox();
  const opened: RawSmtp[] = [];
  try {
    // one idle client (says nothing after the greeting) and two slow ones (a byte of DATA now and then)
    const idle = (await RawSmtp.open(sys.smtpPort)).client;
    opened.push(idle);
    const slow: RawSmtp[] = [];
    for (let i = 0; i < 2; i++) {
      const { client } = await RawSmtp.open(sys.smtpPort);
      opened.push(client);
      await client.command('EHLO slow.test');
      await client.command('MAIL FROM:<slow@example.org>');
      await client.command(`RCPT TO:<${box.address}>`);
      t.regex(await client.command('DATA'), /^354/);
      slow.push(client);
    }
    let dripping = true;
    const drip = (async () => {
      while (dripping) {
        for (const c of slow) c.socket.write('x');
        await pause(400);
      }
    })();

    // the fourth slot: a normal client is served while the slow ones hold theirs
    const normal = await RawSmtp.sendOnce(
      sys.smtpPort,
      'n@example.org',
      [box.address],
      'Subject: normal-1\r\n\r\nhello\r\n',
    );
    t.regex(normal.data, /^250/);

    // over the limit: 421 at once
    const { client: fourth } = await RawSmtp.open(sys.smtpPort);
    opened.push(fourth);
    const excess = await RawSmtp.open(sys.smtpPort).then(
      (r) => {
        opened.push(r.client);
        return r.greeting;
      },
      (e: Error) => e.message,
    );
    t.regex(excess, /421/, 'a client over SMTP_MAX_CLIENTS is refused with 421');

    // the idle client is dropped by the socket timeout; its slot serves a normal client again
    const idleGone = Date.now();
    const last = await idle.reply(10_000).catch((e: Error) => e.message);
    t.regex(last, /^421|closed/, `idle client dropped (${last})`);
    t.true(Date.now() - idleGone < 5_000);
    fourth.socket.destroy();
    const again = await RawSmtp.sendOnce(
      sys.smtpPort,
      'n@example.org',
      [box.address],
      'Subject: normal-2\r\n\r\nhello\r\n',
    );
    t.regex(again.data, /^250/);

    dripping = false;
    await drip;
    const list = await sys.waitForMessages(box.address, box.token, 2);
    t.deepEqual(list.map((m: { subject: string }) => m.subject).sort(), ['normal-1', 'normal-2']);
  } finally {
    for (const c of opened) c.socket.destroy();
  }
});
