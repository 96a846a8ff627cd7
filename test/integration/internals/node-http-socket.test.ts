import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';

// docs/internals.md, row "Node socket._httpMessage": answerClientError (src/api/client-error.ts)
// tells a parse error between requests from one during a response being written by the socket's private
// `_httpMessage` (the ServerResponse the socket is serving); Node does not document it.
const ROW = 'internals.md row "Node socket._httpMessage" (src/api/client-error.ts answerClientError)';

test('a server socket carries the response it is writing as _httpMessage, with headersSent', async (t) => {
  let seen: { same: boolean; before: unknown; after: unknown } | undefined;
  const server = createServer((req, res: ServerResponse) => {
    const message = (req.socket as unknown as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    const before = message?.headersSent;
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.flushHeaders();
    seen = { same: message === res, before, after: message?.headersSent };
    res.end('ok');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const r = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  t.is(await r.text(), 'ok');
  t.true(seen?.same, `${ROW}: socket._httpMessage is not the response being written`);
  t.is(seen?.before, false, ROW);
  t.is(seen?.after, true, `${ROW}: _httpMessage.headersSent does not follow the response`);
});
