import test from 'ava';
import { openApiDocument } from '../../src/api/openapi.js';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/**
 * Generated SDKs and MCP tool lists name their methods after operationId: renaming one breaks their users.
 * This list is the contract; a change to it is a deliberate, visible change.
 */
const OPERATION_IDS = [
  'getHealth', 'getReadiness', 'getMetrics', 'getQueueBoard', 'getOpenApiDocument',
  'createMailbox', 'listMailboxes', 'getMailbox', 'deleteMailbox', 'updateMailbox',
  'listMessages', 'getMessage', 'deleteMessage', 'getMessageRaw', 'getAttachment',
  'streamMailboxEvents', 'streamMailboxWebSocket', 'getStreamViewer', 'getStreamViewerScript',
  'createToken', 'listTokens', 'revokeToken', 'createApiKey', 'listApiKeys', 'revokeApiKey',
  'ingestSesNotification',
];

function operations() {
  const doc = openApiDocument('/');
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((m) => ({ where: `${m.toUpperCase()} ${path}`, id: (item[m] as { operationId?: unknown }).operationId })));
}

test('every operation has an operationId: camelCase, unique, and exactly the agreed list', (t) => {
  const ops = operations();
  for (const op of ops) t.regex(String(op.id), /^[a-z][a-zA-Z0-9]+$/, `${op.where} needs a camelCase operationId`);
  const ids = ops.map((op) => op.id as string);
  t.deepEqual(ids.filter((id, i) => ids.indexOf(id) !== i), [], 'duplicated operationIds');
  t.deepEqual([...ids].sort(), [...OPERATION_IDS].sort());
});
