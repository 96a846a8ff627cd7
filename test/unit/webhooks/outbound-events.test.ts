import test from 'ava';
import { outboundWebhookEvent } from '../../../src/store/outbound-webhook-events.js';

const m = {
  id: 'om-1',
  mailbox_id: 'mb-1',
  mailbox_address: 'box@mw.test',
  recipient_email: 'ann@example.org',
  subject: 'Build 42 passed',
  message_id: '<s1@mw.test>',
  status: 'failed',
};
const at = new Date('2026-12-06T05:00:00Z');
const row = (type: string, payload: Record<string, unknown> = {}) => ({
  id: '7',
  outbound_message_id: 'om-1',
  type,
  occurred_at: at,
  payload,
});
const outbound = {
  id: 'om-1',
  recipient: 'ann@example.org',
  subject: 'Build 42 passed',
  message_id: '<s1@mw.test>',
  status: 'failed',
};

test('outbound rows map to outbound.* events with the fields that apply', (t) => {
  t.deepEqual(outboundWebhookEvent(row('failed', { response: '550 5.1.1 no such user', reason: 'rejected' }), m), {
    mailboxId: 'mb-1',
    mailboxAddress: 'box@mw.test',
    type: 'outbound.failed',
    occurredAt: at,
    outboundMessageEventId: '7',
    data: { outbound, error: 'rejected' },
  });
  t.deepEqual(outboundWebhookEvent(row('bounced', { bounce_type: 'hard', diagnostic: '5.1.1' }), m)?.data, {
    outbound,
    bounce_type: 'hard',
    diagnostic: '5.1.1',
  });
  // the payload as the bounce processor writes it (store/bounces.ts): the class in `type`
  t.deepEqual(
    outboundWebhookEvent(row('bounced', { type: 'soft', action: 'failed', status: '4.2.2', diagnostic: 'full' }), m)
      ?.data,
    { outbound, bounce_type: 'soft', diagnostic: 'full' },
  );
  t.deepEqual(outboundWebhookEvent(row('clicked', { user_agent: 'UA', first: true, url: 'https://e.org/' }), m)?.data, {
    outbound,
    user_agent: 'UA',
    first: true,
    url: 'https://e.org/',
  });
  t.deepEqual(outboundWebhookEvent(row('opened', { user_agent: 'UA', first: false }), m)?.data, {
    outbound,
    user_agent: 'UA',
    first: false,
  });
  for (const type of ['queued', 'sent', 'suppressed', 'delivery_delayed'])
    t.is<string | undefined, string | undefined>(outboundWebhookEvent(row(type), m)?.type, `outbound.${type}`);
});

test('sending, deferred and complained are not webhook events', (t) => {
  for (const type of ['sending', 'deferred', 'complained', 'nonsense'])
    t.is(outboundWebhookEvent(row(type), m), undefined);
});
