import anyTest, { type TestFn } from 'ava';
import { startSystem, type System } from '../helpers/system.js';

const test = anyTest as TestFn<{ sys: System }>;
test.before(async (t) => {
  t.context.sys = await startSystem();
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

test('the full message carries the codes and links the worker extracted at parse time', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox('?ttl_minutes=30');
  await sys.send({
    to: box.address,
    subject: 'Your Acme verification code',
    text: 'Your verification code is 408 217.\nOr sign in with this link: https://acme.example/magic?t=abc',
    html: '<p>Your verification code is <b>408 217</b>.</p><p><a href="https://acme.example/magic?t=abc">Sign in to Acme</a> · <a href="https://acme.example/help">Help</a></p>',
  });
  const [summary] = await sys.waitForMessages(box.address, box.token, 1);
  t.deepEqual(Object.keys(summary).sort(), [
    'from_address',
    'has_attachments',
    'id',
    'is_read',
    'received_at',
    'subject',
    'tag',
  ]);
  const full = (await sys.json(`/api/v1/mailboxes/${box.address}/messages/${summary.id}`, { token: box.token })).body;
  t.is(full.codes[0].code, '408217');
  t.deepEqual([...full.codes[0].found_in].sort(), ['html', 'text']);
  t.regex(full.codes[0].context, /verification code is 408 217/);
  t.deepEqual(full.links, [
    { url: 'https://acme.example/magic?t=abc', text: 'Sign in to Acme', found_in: ['html', 'text'] },
    { url: 'https://acme.example/help', text: 'Help', found_in: ['html'] },
  ]);
});

test('entities in the HTML are decoded in link text and code context; a ">" in a quoted attribute keeps its anchor', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox('?ttl_minutes=30');
  await sys.send({
    to: box.address,
    subject: 'Bienvenue au Caf&eacute;',
    // a text part of its own, so mailparser does not derive one from the HTML: codes and links come from the HTML
    text: 'Please read this message in HTML.',
    html:
      '<p>Caf&eacute; &rarr; your verification code is <b>604 117</b>.</p>' +
      '<p><a title="Step 1 > Step 2" href="https://cafe.example/verify?u=1&amp;t=2">Caf&eacute; &rarr; verify</a></p>',
  });
  const [summary] = await sys.waitForMessages(box.address, box.token, 1);
  const full = (await sys.json(`/api/v1/mailboxes/${box.address}/messages/${summary.id}`, { token: box.token })).body;
  t.is(full.subject, 'Bienvenue au Caf&eacute;', 'a subject is plain text, not HTML: it is not decoded');
  t.deepEqual(
    full.codes.map((c: { code: string; context: string }) => [c.code, c.context]),
    [['604117', 'Café → your verification code is 604 117. Café → verify']],
  );
  t.deepEqual(full.links, [{ url: 'https://cafe.example/verify?u=1&t=2', text: 'Café → verify', found_in: ['html'] }]);
});
