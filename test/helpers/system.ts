import { randomBytes } from 'node:crypto';
import nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer/index.js';
import { createContainer, type Container, type Deps } from '../../src/container.js';
import { loadConfig, type Config } from '../../src/core/config.js';
import { generateKey, type KeyRing } from '../../src/core/secret-box.js';
import { startSmtp, type SmtpRole } from '../../src/roles/smtp.js';
import { startWeb, type WebRole } from '../../src/roles/web.js';
import { startWorker, type WorkerRole } from '../../src/roles/worker.js';
import type { SnsFetch } from '../../src/ingress/ses/sns-verifier.js';
import { createTestDatabase, type TestDatabase } from './db.js';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix } from './redis.js';

export const TEST_DOMAIN = 'mw.test';
/** the longest one teardown step of `System.stop()` may take before the hook fails naming it */
const STOP_STEP_MS = 30_000;

export interface System {
  config: Config;
  deps: Container;
  web?: WebRole;
  smtp?: SmtpRole;
  worker?: WorkerRole;
  baseUrl: string;
  smtpPort: number;
  database: TestDatabase;
  /** fetch against the API; `token` becomes a Bearer header */
  api(path: string, init?: RequestInit & { token?: string }): Promise<Response>;
  json<T = any>(
    path: string,
    init?: RequestInit & { token?: string },
  ): Promise<{ status: number; body: T; headers: Headers }>;
  createMailbox(
    query?: string,
    token?: string,
  ): Promise<{ address: string; token: string; expires_at: string; created_at: string; ttl_minutes: number }>;
  send(mail: Mail.Options): Promise<{ response: string; messageId: string }>;
  /** poll the REST API until `count` messages are listed (tests only; the product never polls) */
  waitForMessages(address: string, token: string, count: number, timeoutMs?: number): Promise<any[]>;
  stop(): Promise<void>;
}

export interface SystemOptions {
  env?: Record<string, string>;
  roles?: Array<'web' | 'smtp' | 'worker'>;
  database?: TestDatabase;
  prefix?: string;
  /** options for the web role (e.g. a local SNS certificate fetcher) */
  web?: { snsFetch?: SnsFetch; credentials?: KeyRing };
  /** container overrides (e.g. a publisher that fails) */
  overrides?: Partial<Deps>;
}

/** Start Mailwright in-process on free ports with its own database and Redis prefix. */
export async function startSystem(opts: SystemOptions = {}): Promise<System> {
  const database = opts.database ?? (await createTestDatabase());
  const prefix = opts.prefix ?? uniquePrefix();
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: database.url,
    DATABASE_POOL_MAX: '5',
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: prefix,
    HOST: '127.0.0.1',
    PORT: '0',
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: '0',
    MAIL_DOMAINS: `${TEST_DOMAIN},other.test`,
    TOKEN_SECRET: randomBytes(32).toString('hex'),
    CREDENTIALS_KEY: generateKey(),
    BOUNCE_HMAC_SECRET: randomBytes(32).toString('hex'),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    DELIVERY_BACKOFF_MS: '200',
    PLAN_CACHE_MS: '0',
    // rate limiting stays on (headers, code path) with budgets no ordinary test reaches; tests of the limits set their own
    RATE_LIMIT_IP_POINTS: '1000000',
    RATE_LIMIT_CREDENTIAL_POINTS: '1000000',
    RATE_LIMIT_CREATE_IP_POINTS: '1000000',
    RATE_LIMIT_CREATE_CREDENTIAL_POINTS: '1000000',
    SMTP_CONNECTIONS_PER_IP: '1000000',
    ...opts.env,
  });
  const roles = opts.roles ?? ['web', 'smtp', 'worker'];
  const deps = await createContainer(config, 'test', opts.overrides);
  const worker = roles.includes('worker') ? await startWorker(deps) : undefined;
  const smtp = roles.includes('smtp') ? await startSmtp(deps) : undefined;
  const web = roles.includes('web')
    ? await startWeb(deps, { tokenSecret: config.tokenSecret!, credentials: config.connected.keyRing, ...opts.web })
    : undefined;
  const baseUrl = web ? `http://127.0.0.1:${web.port}` : '';
  const smtpPort = smtp?.port ?? 0;

  const api: System['api'] = (path, init = {}) => {
    const { token, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (token) headers.set('authorization', `Bearer ${token}`);
    return fetch(baseUrl + path, { ...rest, headers });
  };
  const json: System['json'] = async (path, init) => {
    const res = await api(path, init);
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  };
  const transport = smtp
    ? nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort, secure: false, ignoreTLS: true, pool: false })
    : undefined;

  return {
    config,
    deps,
    web,
    smtp,
    worker,
    baseUrl,
    smtpPort,
    database,
    api,
    json,
    async createMailbox(query = '', token) {
      const r = await json(`/api/v1/mailboxes${query}`, { method: 'POST', token });
      if (r.status !== 201) throw new Error(`create mailbox: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body;
    },
    async send(mail) {
      if (!transport) throw new Error('smtp role not started');
      return transport.sendMail({ from: 'sender@example.org', ...mail });
    },
    async waitForMessages(address, token, count, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const r = await json(`/api/v1/mailboxes/${address}/messages`, { token });
        if (r.status === 200 && r.body.length >= count) return r.body;
        if (Date.now() > until)
          throw new Error(`expected ${count} messages in ${address}, have ${JSON.stringify(r.body)}`);
        await new Promise((res) => setTimeout(res, 25));
      }
    },
    async stop() {
      transport?.close();
      // each step is bounded: a teardown that hangs fails its hook, naming the step, instead of leaving ava to
      // end the run on its inactivity timeout with no test named
      const hung: string[] = [];
      const step = async (name: string, work: () => Promise<unknown> | undefined) => {
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<'late'>((resolve) => {
          timer = setTimeout(resolve, STOP_STEP_MS, 'late');
        });
        try {
          if ((await Promise.race([work(), late])) === 'late') hung.push(name);
        } finally {
          clearTimeout(timer);
        }
      };
      await step('web.close', () => web?.close());
      await step('smtp.close', () => smtp?.close());
      await step('worker.close', () => worker?.close());
      for (const q of [...deps.queues.inboundShards, deps.queues.inboundLarge, deps.queues.outbound])
        await step(`obliterate ${q.name}`, () => q.obliterate({ force: true }).catch(() => undefined));
      await step('deps.close', () => deps.close());
      await step('dropPrefix', () => dropPrefix(prefix));
      if (!opts.database) await step('database.drop', () => database.drop());
      if (hung.length)
        throw new Error(`test system teardown: ${hung.join(', ')} did not finish within ${STOP_STEP_MS} ms`);
    },
  };
}
