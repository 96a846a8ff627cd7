import test from 'ava';
import { simpleParser } from 'mailparser';
import { renderedSizeBound, renderMime } from '../../src/outbound/render.js';
import type { StoredSend } from '../../src/store/outbound-delivery.js';

const send: StoredSend = {
  id: '0b7c2a4e-59f1-4d3a-8e2b-6a1c9d0f3e57',
  messageId: '<0b7c2a4e-59f1-4d3a-8e2b-6a1c9d0f3e57@mw.test>',
  date: new Date('2026-12-06T05:00:00Z'),
  fromName: 'CI bot',
  replyTo: 'team@example.org',
  to: [{ address: 'ann@example.org', name: 'Ann' }],
  cc: [{ address: 'bob@example.org', name: null }],
  subject: 'Build 42 passed ✓',
  text: 'all green',
  html: '<p>all <a href="https://example.org/run/42">green</a></p>',
  headers: { 'X-Run-Id': '42' },
  attachments: [{ filename: 'report.pdf', contentType: 'application/pdf', content: Buffer.from('%PDF-1.4 …') }],
};

test('the same send renders to the same bytes every time (Message-ID, Date, boundaries fixed per send)', async (t) => {
  const a = await renderMime(send, { from: 'box@mw.test' });
  const b = await renderMime(structuredClone(send), { from: 'box@mw.test' });
  t.true(a.equals(b));
  const other = await renderMime({ ...send, id: '1b7c2a4e-59f1-4d3a-8e2b-6a1c9d0f3e57' }, { from: 'box@mw.test' });
  t.false(a.equals(other), 'boundaries come from the send id');
  const p = await simpleParser(a);
  t.is(p.messageId, send.messageId);
  t.is(p.date?.toISOString(), '2026-12-06T05:00:00.000Z');
  t.deepEqual(p.from?.value, [{ address: 'box@mw.test', name: 'CI bot' }]);
  t.is(p.subject, send.subject);
  t.is(p.text?.trim(), 'all green');
  t.is(p.attachments[0]?.filename, 'report.pdf');
  t.is(p.headers.get('bcc'), undefined);
});

test('transformHtml (issue 22) applies only to tracked copies, and only to the HTML part', async (t) => {
  const calls: unknown[] = [];
  const transformHtml = (html: string, ctx: { outboundMessageId: string; sendId: string }) => {
    calls.push(ctx);
    return html.replace('</p>', '<img src="https://t.example/o"></p>');
  };
  const ctx = { outboundMessageId: 'm1', sendId: send.id, trackOpens: true, trackClicks: true };
  const plain = await renderMime(send, { from: 'box@mw.test', transformHtml, tracking: { enabled: false, ctx } });
  t.deepEqual(calls, []);
  t.true(plain.equals(await renderMime(send, { from: 'box@mw.test' })));
  const tracked = await simpleParser(
    await renderMime(send, { from: 'box@mw.test', transformHtml, tracking: { enabled: true, ctx } }),
  );
  t.deepEqual(calls, [ctx]);
  t.true(String(tracked.html).includes('https://t.example/o'));
  t.false((tracked.text ?? '').includes('t.example'));
});

test('renderedSizeBound is never below the built size (the send API builds only when the bound is over the limit)', async (t) => {
  // deterministic pseudo-random sends: ASCII, non-ASCII, long lines, bare newlines, many headers and attachments
  let seed = 42;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const alphabet = ['a', 'Z', ' ', '\n', '=', '.', 'é', '✓', '😀', '\t', '"', '<'];
  const text = (max: number) => Array.from({ length: rand(max) }, () => alphabet[rand(alphabet.length)]).join('');
  for (let i = 0; i < 60; i++) {
    const s: StoredSend = {
      ...send,
      fromName: rand(2) ? text(80) || null : null,
      to: Array.from({ length: 1 + rand(5) }, (_, j) => ({
        address: `r${j}@example.org`,
        name: rand(2) ? text(40) : null,
      })),
      cc: [],
      subject: text(300) || 's',
      text: rand(4) ? text(5000) : null,
      html: rand(2) ? `<p>${text(5000)}</p>` : null,
      headers: Object.fromEntries(Array.from({ length: rand(10) }, (_, j) => [`X-H${j}`, text(200)])),
      attachments: Array.from({ length: rand(3) }, (_, j) => ({
        filename: rand(2) ? `${text(60)}${j}.bin` : null,
        contentType: 'application/octet-stream',
        content: Buffer.alloc(rand(20_000), j),
      })),
    };
    if (s.text === null && s.html === null) s.text = text(100);
    const built = await renderMime(s, { from: 'box@mw.test' });
    const bound = renderedSizeBound(s, 'box@mw.test');
    t.true(bound >= built.length, `send ${i}: bound ${bound} < built ${built.length}`);
  }
});
