import test from 'ava';
import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { newWebhookSecret, secretKey, signedHeaders } from '../../../src/webhooks/signing.js';
import { webhookBody } from '../../../src/webhooks/payload.js';

const body = webhookBody({
  id: 'evt_01JD3Q8Y0000000000000000AB',
  type: 'message.received',
  occurred_at: new Date('2026-11-23T10:30:00.123Z'),
  seq: '4711',
  mailbox_address: 'k3q7@mailwright.test',
  data: { message: { id: 'm1', subject: 'Ünïcode ✓', size: 2048 } },
});

test('a secret is whsec_ + padded standard base64 of 32 random bytes', (t) => {
  const s = newWebhookSecret();
  t.regex(s, /^whsec_[A-Za-z0-9+/]{43}=$/);
  t.is(secretKey(s).length, 32);
  t.not(newWebhookSecret(), s);
});

test('the standardwebhooks package verifies what Mailwright signs, body bytes as sent', (t) => {
  const secret = newWebhookSecret();
  const headers = signedHeaders([secret], 'evt_01JD3Q8Y0000000000000000AB', body);
  t.deepEqual(new Webhook(secret).verify(body, headers), JSON.parse(body));
  t.regex(headers['webhook-signature']!, /^v1,[A-Za-z0-9+/]+=*$/);
  t.is(headers['webhook-timestamp'], String(Math.floor(Date.now() / 1000)));
  // one changed byte of the body, the id or the timestamp fails
  t.throws(() => new Webhook(secret).verify(body.replace('4711', '4712'), headers));
  t.throws(() => new Webhook(secret).verify(body, { ...headers, 'webhook-id': 'evt_other' }));
  t.throws(() => new Webhook(newWebhookSecret()).verify(body, headers));
});

test('the signature is HMAC-SHA256(key, "{id}.{timestamp}.{body}") in base64, as the spec writes it', (t) => {
  const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
  const at = new Date('2026-12-06T05:00:00Z');
  const h = signedHeaders([secret], 'evt_x', body, at);
  const expected = createHmac('sha256', Buffer.alloc(32, 7))
    .update(`evt_x.${at.getTime() / 1000}.${body}`)
    .digest('base64');
  t.is(h['webhook-signature'], `v1,${expected}`);
  t.is<string | undefined, string | undefined>(new Webhook(secret).sign('evt_x', at, body), h['webhook-signature']);
});

test('rotation overlap: two signatures, space-separated, each verifies with its own secret', (t) => {
  const [next, old] = [newWebhookSecret(), newWebhookSecret()];
  const headers = signedHeaders([next, old], 'evt_1', body);
  t.is(headers['webhook-signature']!.split(' ').length, 2);
  t.notThrows(() => new Webhook(next).verify(body, headers));
  t.notThrows(() => new Webhook(old).verify(body, headers));
  t.throws(() => new Webhook(newWebhookSecret()).verify(body, headers));
});

test('the body: id, type, timestamp (+00:00, whole seconds), sequence as a number, mailbox, data', (t) => {
  t.deepEqual(JSON.parse(body), {
    id: 'evt_01JD3Q8Y0000000000000000AB',
    type: 'message.received',
    timestamp: '2026-11-23T10:30:00+00:00',
    sequence: 4711,
    mailbox: 'k3q7@mailwright.test',
    data: { message: { id: 'm1', subject: 'Ünïcode ✓', size: 2048 } },
  });
});
