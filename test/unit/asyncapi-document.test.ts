import test from 'ava';
import { Parser, type Diagnostic } from '@asyncapi/parser';
import { asyncApiDocument, WS_CLOSE_CODES } from '../../src/api/openapi/asyncapi.js';
import { STREAM_PARAMS } from '../../src/stream/access.js';
import { WS_CLOSE } from '../../src/stream/frames.js';

/** Problems an AsyncAPI validator reports: errors and warnings (severity 0 and 1); information and hints are not. */
async function problems(doc: unknown): Promise<string[]> {
  const { diagnostics } = await new Parser().parse(JSON.stringify(doc));
  // DiagnosticSeverity (Error = 0, Warning = 1) comes from a copy of @stoplight/types nested under spectral-core
  const reported = (severity: number) => severity <= 1;
  return diagnostics
    .filter((d: Diagnostic) => reported(d.severity))
    .map((d) => `${d.code} at ${d.path.join('/')}: ${d.message}`);
}

test('the AsyncAPI document is valid AsyncAPI 3.0 (@asyncapi/parser: no error, no warning), with and without a path prefix', async (t) => {
  for (const origin of [
    { host: 'localhost:3000', secure: false },
    { host: 'mail.example.com', secure: true, pathname: '/mw/' },
  ]) {
    const doc = asyncApiDocument(origin);
    t.is(doc.asyncapi, '3.0.0');
    t.deepEqual(await problems(doc), [], JSON.stringify(origin));
  }
});

test('the validator is not vacuous: a dangling reference and a wrong binding are reported', async (t) => {
  const doc = asyncApiDocument({ host: 'localhost:3000', secure: false }) as {
    operations: Record<string, { channel: unknown }>;
    channels: Record<string, { bindings?: unknown }>;
  };
  doc.operations.streamMailboxEvents!.channel = { $ref: '#/channels/nowhere' };
  t.notDeepEqual(await problems(doc), []);
  const other = asyncApiDocument({ host: 'localhost:3000', secure: false }) as typeof doc;
  other.channels.mailboxWebSocket!.bindings = { ws: { method: 'PUT', bindingVersion: '0.1.0' } }; // the ws binding allows GET or POST
  t.notDeepEqual(await problems(other), []);
});

test('servers, channels and messages say what the code does: every close code of src/stream/frames.ts, both transports, the resume cursor', (t) => {
  const doc = asyncApiDocument({ host: 'mail.example.com', secure: true, pathname: '/mw' }) as any;
  t.like(doc.servers, {
    sse: { host: 'mail.example.com', protocol: 'https', pathname: '/mw' },
    websocket: { host: 'mail.example.com', protocol: 'wss', pathname: '/mw' },
  });
  t.is(doc.info.externalDocs.url, 'https://mail.example.com/mw/api/v1/openapi.json');
  for (const [reason, code] of Object.entries(WS_CLOSE))
    t.regex(
      WS_CLOSE_CODES[code as keyof typeof WS_CLOSE_CODES] ?? '',
      new RegExp(`\\b${reason}\\b`),
      `close ${code} ${reason}`,
    );
  t.deepEqual(doc.channels.mailboxWebSocket['x-close-codes'], WS_CLOSE_CODES);
  const names = (channel: string) =>
    Object.values(doc.channels[channel].messages as Record<string, { $ref: string }>)
      .map((r) => doc.components.messages[r.$ref.split('/').pop()!].name)
      .sort();
  t.deepEqual(names('mailboxEvents'), [
    'api_key_revoked',
    'mailbox_expired',
    'new_message',
    'ready',
    'reconnect',
    'token_expired',
    'token_revoked',
  ]);
  t.deepEqual(names('mailboxWebSocket'), ['mailbox_expired', 'new_message', 'ping', 'ready']);
  for (const op of Object.values<{ security: Array<{ $ref: string }> }>(doc.operations)) {
    t.deepEqual(
      op.security.map((s) => s.$ref.split('/').pop()),
      ['apiKey', 'mailboxToken', 'tokenQuery'],
    );
  }
  // the query parameters the streams accept (src/stream/access.ts), in both bindings
  t.deepEqual(
    Object.keys(doc.channels.mailboxWebSocket.bindings.ws.query.properties).sort(),
    [...STREAM_PARAMS].sort(),
  );
  t.deepEqual(
    Object.keys(doc.operations.streamMailboxEvents.bindings.http.query.properties).sort(),
    [...STREAM_PARAMS].sort(),
  );
});
