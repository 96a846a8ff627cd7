import type { Context } from 'koa';
import type { Knex } from 'knex';
import { z } from 'zod';
import type { Principal } from '../../access/principal.js';
import { checkBounceFolder, DEFAULT_BOUNCE_FOLDER } from '../../connected/bounce-inbox.js';
import { createConnectedMailbox } from '../../connected/create.js';
import { domainOf } from '../../core/address.js';
import type { Config } from '../../core/config.js';
import { BadRequest, Forbidden, Unauthorized } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { KeyRing } from '../../core/secret-box.js';
import type { PlanStore } from '../../store/plans.js';
import { parseBody } from '../body.js';
import { presentConnected } from '../present.js';

export interface ConnectedCreateDeps {
  config: Config;
  db: Knex;
  plans: PlanStore;
  log: Logger;
  credentials?: KeyRing;
}

/** CR, LF and NUL end an IMAP command line: refused in every string before any connection (400 invalid_body). */
const line = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((s) => !/[\r\n\0]/.test(s), 'CR, LF and NUL are not allowed');

export const Account = z.strictObject({
  host: line(253),
  port: z.number().int().min(1).max(65535),
  tls: z.enum(['implicit', 'starttls', 'none']),
  username: line(320),
  password: line(1024),
});

const HOST_NAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/i;

/** The bounce inbox (issue 21): an IMAP account plus the folder polled and the VERP domain (a host name). */
export const BounceImap = Account.extend({
  // checked by checkBounceFolder (400 invalid_folder), not here (400 invalid_body)
  folder: z.string().optional(),
  verp_domain: z.string().regex(HOST_NAME, 'expected a host name (e.g. bounces.example.org)').optional(),
});

/** The body of `POST /api/v1/mailboxes` with `kind: "connected"` (strict: any other field is a 400 naming it). */
const CreateConnected = z.strictObject({
  kind: z.literal('connected'),
  address: line(254).refine((a) => /^[^\s@]{1,64}@[^\s@]+$/.test(a), 'expected an email address (local@domain)'),
  imap: Account,
  smtp: Account.nullable().optional(),
  bounce_imap: BounceImap.nullable().optional(),
});

/** Whether a parsed JSON body asks for a connected mailbox. */
export const wantsConnected = (body: unknown): boolean =>
  typeof body === 'object' && body !== null && (body as { kind?: unknown }).kind === 'connected';

/**
 * `POST /api/v1/mailboxes` with `{"kind":"connected", ...}`: an API key only (anonymous 401, a mailbox token 403
 * api_key_required), no query parameters (`ttl_minutes`: 400 ttl_not_applicable, a connected mailbox never
 * expires), then connected/create.ts. The answer never holds a password and no token (mint one with /tokens).
 */
export async function createConnected(ctx: Context, deps: ConnectedCreateDeps, principal: Principal, body: unknown) {
  if (principal.kind === 'anonymous') throw new Unauthorized('connecting a mailbox needs an API key');
  if (principal.kind === 'token')
    throw new Forbidden('a mailbox token cannot connect mailboxes; use an API key', 'api_key_required');
  if (ctx.query.ttl_minutes !== undefined)
    throw new BadRequest('a connected mailbox does not expire: ttl_minutes does not apply', 'ttl_not_applicable');
  const names = Object.keys(ctx.query);
  if (names.length > 0)
    throw new BadRequest(`unknown parameter ${names[0]} (a connected mailbox takes a JSON body)`, 'unknown_parameter');
  const input = parseBody(body, CreateConnected);
  const { folder, verp_domain: verpDomain, ...bounceLogin } = input.bounce_imap ?? {};
  checkBounceFolder(folder);
  const mailbox = await createConnectedMailbox(deps, {
    ownerUserId: principal.userId,
    planId: principal.planId,
    address: input.address,
    imap: input.imap,
    smtp: input.smtp ?? null,
    bounceImap: input.bounce_imap
      ? {
          ...(bounceLogin as z.infer<typeof Account>),
          folder: folder ?? DEFAULT_BOUNCE_FOLDER,
          verpDomain: verpDomain ?? domainOf(input.address),
        }
      : null,
  });
  deps.log.info({ event: 'mailbox.connected', mailboxId: mailbox.id, plan: mailbox.planId });
  ctx.status = 201;
  ctx.set('Location', `/api/v1/mailboxes/${encodeURIComponent(mailbox.address)}`);
  ctx.body = presentConnected(mailbox);
}
