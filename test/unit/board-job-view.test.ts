import test from 'ava';
import { toBoardJobData } from '../../src/ops/board-job-view.js';

test('an inbound job: ids, source, time, envelope and the raw size; never the raw bytes', (t) => {
  const raw = 'Subject: reset\r\n\r\nYour code is 123456\r\n';
  const view = toBoardJobData({
    v: 1,
    ingressId: 'I1',
    source: 'smtp',
    receivedAt: '2026-12-06T00:00:00.000Z',
    envelope: { from: null, to: ['a@mw.test'] },
    rawAscii: raw,
    remoteAddress: '127.0.0.1',
  });
  t.deepEqual(view, {
    v: 1,
    ingressId: 'I1',
    source: 'smtp',
    receivedAt: '2026-12-06T00:00:00.000Z',
    envelope: { from: null, to: ['a@mw.test'] },
    remoteAddress: '127.0.0.1',
    raw: { bytes: raw.length, encoding: 'ascii' },
  });
  const bytes = Buffer.from('caf\u00e9 123456');
  t.deepEqual((toBoardJobData({ rawBase64: bytes.toString('base64') }) as { raw: unknown }).raw, {
    bytes: bytes.length,
    encoding: 'base64',
  });
});

test('fields not on the list are named, never shown; an over-long or non-scalar value in a shown field is described', (t) => {
  const view = toBoardJobData({ mailboxId: 'm1', subject: 'Your code is 123456', body: { text: '123456' } }) as Record<
    string,
    unknown
  >;
  t.deepEqual(view, { mailboxId: 'm1', hiddenFields: ['subject', 'body'] });
  t.false(JSON.stringify(view).includes('123456'));
  const odd = toBoardJobData({
    ingressId: 'x'.repeat(500),
    source: { nested: '123456' },
    envelope: { from: 'y'.repeat(400), to: 'not a list' },
  });
  t.deepEqual(odd, {
    ingressId: '[500 characters]',
    source: '[object]',
    envelope: { from: '[400 characters]', to: 'not a list' },
  });
  t.is(toBoardJobData('code 123456'), '[11 characters]');
  t.is(toBoardJobData(['code 123456']), '[array of 1]');
  t.is(toBoardJobData(42), 42);
  t.is(toBoardJobData(undefined), undefined);
});
