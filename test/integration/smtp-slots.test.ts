import anyTest, { type TestFn } from 'ava';
import { RawSmtp } from '../helpers/smtp-client.js';
import { startSystem, TEST_DOMAIN, type System } from '../helpers/system.js';

// Issue 24 (4): one address cannot take every SMTP session. Clients on loopback get different source addresses
// by binding to 127.0.0.2, 127.0.0.3, ...
const test = anyTest as TestFn<{ sys: System; opened: RawSmtp[] }>;

test.before(async (t) => {
  t.context = {
    opened: [],
    sys: await startSystem({
      roles: ['smtp'],
      env: {
        SMTP_MAX_CLIENTS: '10',
        SMTP_MAX_CLIENTS_PER_IP: '4',
        SMTP_RESERVED_CLIENTS_PERCENT: '20',
        SMTP_EVICT_IDLE_MS: '1000',
        RATE_LIMIT_ENABLED: 'false',
      },
    }),
  };
});
test.after.always(async (t) => {
  for (const c of t.context.opened) c.socket.destroy();
  await t.context.sys?.stop();
});

/** Open a session from `from`; the client stays open (closed after the test) and its greeting is returned. */
const open = async (t: { context: { sys: System; opened: RawSmtp[] } }, from: string) => {
  const { client, greeting } = await RawSmtp.open(t.context.sys.smtpPort, '127.0.0.1', from);
  t.context.opened.push(client);
  return { client, greeting };
};

/** One message from `from` in a fresh session: the replies to the greeting and to the final dot. */
const sendFrom = async (t: { context: { sys: System; opened: RawSmtp[] } }, from: string) => {
  const { client, greeting } = await open(t, from);
  if (!greeting.startsWith('220')) return { greeting, data: '' };
  await client.command('EHLO well.behaved.test');
  await client.command('MAIL FROM:<a@example.org>');
  await client.command(`RCPT TO:<someone@${TEST_DOMAIN}>`);
  const data = await client.data('Subject: hello\r\n\r\nhi\r\n');
  await client.command('QUIT').catch(() => '');
  client.socket.destroy();
  return { greeting, data };
};

test.serial(
  'one address gets SMTP_MAX_CLIENTS_PER_IP sessions, then 421; another address is still served',
  async (t) => {
    const greetings = await Promise.all(Array.from({ length: 10 }, () => open(t, '127.0.0.2').then((o) => o.greeting)));
    const served = greetings.filter((g) => g.startsWith('220'));
    const refused = greetings.filter((g) => g.startsWith('421'));
    t.is(served.length, 4, greetings.join('\n'));
    t.is(refused.length, 6);
    t.regex(refused[0]!, /^421 4\.7\.0 Too many concurrent connections from 127\.0\.0\.2 \(4 open, limit 4\)/);
    const other = await sendFrom(t, '127.0.0.3');
    t.regex(other.greeting, /^220/);
    t.regex(other.data, /^250/, 'a normal sender delivers while one address holds its cap');
  },
);

test.serial('the reserve goes to new addresses, and a full server closes the idlest session', async (t) => {
  const { sys } = t.context;
  // 127.0.0.2 still holds 4 from the test before; 127.0.0.4 takes 4 more: 8 of 10, the last 2 are the reserve
  const four = await Promise.all(Array.from({ length: 4 }, () => open(t, '127.0.0.4')));
  t.true(four.every((o) => o.greeting.startsWith('220')));
  const first5 = await open(t, '127.0.0.5');
  t.regex(first5.greeting, /^220/, 'an address with no session gets a reserved one');
  const second5 = await open(t, '127.0.0.5');
  t.regex(second5.greeting, /^421 4\.7\.0 Server busy/, 'an address that holds one already does not');
  const first6 = await open(t, '127.0.0.6');
  t.regex(first6.greeting, /^220/);
  // all 10 taken. After SMTP_EVICT_IDLE_MS every session but one says NOOP: that one is the idlest
  await new Promise((r) => setTimeout(r, 1_200));
  const victim = four[0]!.client;
  const live = t.context.opened.filter((c) => c !== victim && !c.socket.destroyed && c.socket.readyState === 'open');
  await Promise.all(live.map((c) => c.command('NOOP').catch(() => '')));
  const newcomer = await sendFrom(t, '127.0.0.7');
  t.regex(newcomer.greeting, /^220/, 'a new client gets a session on a full server');
  t.regex(newcomer.data, /^250/);
  t.regex(await victim.reply(), /^421 4\.4\.2 Idle session closed to make room/);
  const { values } = await sys.deps.metrics.smtpEvictions.get();
  t.is(values[0]?.value, 1);
});
