import { Ajv } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { generateApiKey } from '../../src/core/api-keys.js';
import type { OpenApiDocument } from '../../src/api/openapi.js';
import type { System } from './system.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv | Ajv2020) => void;
const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

type AsyncApi = {
  channels: Record<string, { messages: Record<string, { $ref: string }> }>;
  components: { messages: Record<string, { name: string; payload: { $ref: string } }> };
};

/**
 * A validator for the frames of one channel of the AsyncAPI document (formats checked): a frame is valid when
 * the channel has a message of that name (the SSE event name; by default the frame's type) whose payload it matches.
 */
export function frameValidator(doc: AsyncApi, channel: string) {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ components: { schemas: (doc.components as { schemas?: object }).schemas } }, 'asyncapi.json');
  const messages = Object.values(doc.channels[channel]?.messages ?? {}).map(
    (r) => doc.components.messages[r.$ref.split('/').pop()!]!,
  );
  if (!messages.length) throw new Error(`no messages in channel ${channel}`);
  return (frame: unknown, name = (frame as { type?: string }).type): string[] => {
    const message = messages.find((m) => m.name === name);
    if (!message) return [`${channel}: no message named ${name}`];
    const validate = ajv.getSchema(`asyncapi.json${message.payload.$ref}`);
    if (!validate) return [`${channel}: no schema at ${message.payload.$ref}`];
    return validate(frame)
      ? []
      : (validate.errors ?? []).map((e) => `${channel}/${name}: ${e.instancePath || '/'} ${e.message}`);
  };
}

/**
 * Validates a real response against the document: the (path, method, status) must be described, every
 * header the response declares `required` must be present (when headers are given), and a JSON body must
 * match the response's schema (2020-12, formats checked). Returns a list of problems.
 */
export function openApiValidator(doc: OpenApiDocument) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(doc, 'openapi.json');
  const get = (ptr: string): any =>
    ptr
      .split('/')
      .slice(1)
      .reduce((o: any, k) => o?.[k.replace(/~1/g, '/').replace(/~0/g, '~')], doc);

  return (
    template: string,
    method: string,
    res: { status: number; contentType: string | null; body: unknown; headers?: Headers },
  ): string[] => {
    const op = doc.paths[template]?.[method.toLowerCase()] as { responses?: Record<string, any> } | undefined;
    if (!op) return [`${method} ${template} is not in the document`];
    let responsePtr = `#/${pointer('paths', template, method.toLowerCase(), 'responses', String(res.status))}`;
    let response = op.responses?.[String(res.status)];
    if (!response) return [`${method} ${template} does not document status ${res.status}`];
    if (response.$ref) {
      responsePtr = response.$ref;
      response = get(responsePtr.slice(1));
    }
    const missing = Object.entries((response.headers ?? {}) as Record<string, { required?: boolean }>)
      .filter(([name, h]) => h.required && res.headers && !res.headers.has(name))
      .map(([name]) => `${method} ${template} ${res.status}: required header ${name} is missing`);
    if (missing.length) return missing;
    const mediaType = (res.contentType ?? '').split(';')[0]!.trim();
    if (!response.content)
      return mediaType && res.body !== '' ? [`status ${res.status} documents no body, got ${mediaType}`] : [];
    const declared = Object.keys(response.content);
    const match = declared.find((d) => d === mediaType || d === '*/*');
    if (!match) return [`${method} ${template} ${res.status}: content-type ${mediaType} not in ${declared.join(', ')}`];
    if (match !== 'application/json') return [];
    const validate = ajv.getSchema(`openapi.json${responsePtr}/${pointer('content', match, 'schema')}`);
    if (!validate) return [`no schema at ${responsePtr}`];
    return validate(res.body)
      ? []
      : (validate.errors ?? []).map(
          (e) =>
            `${method} ${template} ${res.status}: ${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`,
        );
  };
}

/** Make a real request and validate the real response (status, required headers, JSON body) against the document. */
export async function validatedCall(
  sys: System,
  check: ReturnType<typeof openApiValidator>,
  template: string,
  path: string,
  init: RequestInit & { token?: string } = {},
) {
  const res = await sys.api(path, init);
  const contentType = res.headers.get('content-type');
  const text = await res.text();
  const body = contentType?.startsWith('application/json') ? JSON.parse(text) : text;
  return {
    status: res.status,
    body,
    headers: res.headers,
    problems: check(template, init.method ?? 'GET', { status: res.status, contentType, body, headers: res.headers }),
  };
}

/** The status is the expected one and the response matches the document. */
export const expecter =
  (t: { is(a: unknown, b: unknown, m?: string): void; deepEqual(a: unknown, b: unknown, m?: string): void }) =>
  (r: { status: number; problems: string[] }, status: number, label: string) => {
    t.is(r.status, status, label);
    t.deepEqual(r.problems, [], label);
  };

/** An owner with an API key (made through the store: the API needs a key to make one). */
export async function apiKeyOf(sys: System): Promise<string> {
  const user = await sys.deps.stores.users.create({ email: null, planId: 'free' });
  const key = generateApiKey();
  await sys.deps.stores.apiKeys.insert({
    userId: user.id,
    prefix: key.prefix,
    salt: key.salt,
    keyHash: key.hash,
    name: 'openapi',
  });
  return key.key;
}

export const jsonBody = (method: string, body: unknown): RequestInit => ({
  method,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});
