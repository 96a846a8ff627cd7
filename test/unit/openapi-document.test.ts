import test from 'ava';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { openApiDocument } from '../../src/api/openapi.js';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/**
 * Generated SDKs and MCP tool lists name their methods after operationId: renaming one breaks their users.
 * This list is the contract; a change to it is a deliberate, visible change.
 */
const OPERATION_IDS = [
  'getHealth',
  'getReadiness',
  'getMetrics',
  'getQueueBoard',
  'getOpenApiDocument',
  'getAsyncApiDocument',
  'getApiReference',
  'getApiReferenceScript',
  'getApiReferenceAsset',
  'createMailbox',
  'listMailboxes',
  'getMailbox',
  'deleteMailbox',
  'updateMailbox',
  'listMessages',
  'getMessage',
  'deleteMessage',
  'getMessageRaw',
  'getAttachment',
  'streamMailboxEvents',
  'streamMailboxWebSocket',
  'getStreamViewer',
  'getStreamViewerScript',
  'createToken',
  'listTokens',
  'revokeToken',
  'createApiKey',
  'listApiKeys',
  'listFolders',
  'listBounces',
  'revokeApiKey',
  'ingestSesNotification',
  'sendOutbound',
  'listOutbound',
  'getOutbound',
  'listSuppressions',
  'addSuppression',
  'removeSuppression',
  'putWebhook',
  'getWebhook',
  'deleteWebhook',
  'testWebhook',
  'rotateWebhookSecret',
  'listWebhookDeliveries',
  'getWebhookDelivery',
  'retryWebhookDelivery',
  'recoverWebhookDeliveries',
  'trackOpen',
  'trackClick',
];

function operations() {
  const doc = openApiDocument('/');
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((m) => ({
      where: `${m.toUpperCase()} ${path}`,
      id: (item[m] as { operationId?: unknown }).operationId,
    })),
  );
}

test('every operation has an operationId: camelCase, unique, and exactly the agreed list', (t) => {
  const ops = operations();
  for (const op of ops) t.regex(String(op.id), /^[a-z][a-zA-Z0-9]+$/, `${op.where} needs a camelCase operationId`);
  const ids = ops.map((op) => op.id as string);
  t.deepEqual(
    ids.filter((id, i) => ids.indexOf(id) !== i),
    [],
    'duplicated operationIds',
  );
  t.deepEqual([...ids].sort(), [...OPERATION_IDS].sort());
});

test("jsonSchemaDialect is OpenAPI 3.1's default dialect, the only one Swagger UI renders without a warning", (t) => {
  t.is(openApiDocument('/').jsonSchemaDialect, 'https://spec.openapis.org/oas/3.1/dialect/base');
});

/**
 * Redocly's recommended ruleset, with one rule off: `info-license` asks for a license, and the project has not
 * declared one (package.json, no LICENSE file); choosing it is the owner's decision, not the document's.
 */
// `operation-2xx-response` is off too: GET /t/c/{id} (a tracked link) answers only a 302 to its destination or a 404
const LINT_CONFIG: Parameters<typeof createConfig>[0] = {
  extends: ['recommended'],
  rules: { 'info-license': 'off', 'operation-2xx-response': 'off' },
};
/** Findings that are right as they stand, each with its reason; anything else fails the test. */
const ACCEPTED = [
  {
    ruleId: 'operation-2xx-response',
    pointer: '#/paths/~1api~1v1~1mailboxes~1{address}~1ws/get/responses',
    why: 'a WebSocket handshake succeeds with 101 Switching Protocols, never a 2xx',
  },
];

async function lint(doc: unknown) {
  const config = await createConfig(LINT_CONFIG);
  const found = await lintFromString({ source: JSON.stringify(doc), absoluteRef: 'openapi.json', config });
  return found
    .map((p) => ({ severity: p.severity, ruleId: p.ruleId, pointer: p.location[0]?.pointer ?? '', message: p.message }))
    .filter((p) => !ACCEPTED.some((a) => a.ruleId === p.ruleId && a.pointer === p.pointer));
}

test('Redocly lint (recommended ruleset): no error and no warning', async (t) => {
  const problems = await lint(openApiDocument('/'));
  t.deepEqual(
    problems.map((p) => `${p.severity} ${p.ruleId} ${p.pointer}: ${p.message}`),
    [],
  );
});

test('the lint is not vacuous: a $ref with a sibling and a required property that is not defined are reported', async (t) => {
  const doc = JSON.parse(JSON.stringify(openApiDocument('/'))) as ReturnType<typeof openApiDocument>; // the document shares its parts with the module
  (doc.components.responses.E429 as { headers: Record<string, unknown> }).headers['RateLimit-Limit'] = {
    $ref: '#/components/headers/RateLimit-Limit',
    required: true,
  };
  doc.components.schemas.Health = {
    type: 'object',
    required: ['status', 'uptime'],
    properties: { status: { type: 'string' } },
  };
  const rules = (await lint(doc)).map((p) => p.ruleId).sort();
  t.deepEqual(rules, ['no-required-schema-properties-undefined', 'spec-ref-siblings']);
});
