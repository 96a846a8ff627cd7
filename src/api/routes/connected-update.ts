import type { Context } from 'koa';
import type { Knex } from 'knex';
import { z } from 'zod';
import { mailboxFor } from '../../access/principal.js';
import { updateConnectedMailbox } from '../../connected/update.js';
import type { Config } from '../../core/config.js';
import { BadRequest } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { KeyRing } from '../../core/secret-box.js';
import type { Stores } from '../../store/index.js';
import { principalOf } from '../auth.js';
import { parseBody } from '../body.js';
import { presentConnected } from '../present.js';
import { checkBounceFolder } from '../../connected/bounce-inbox.js';
import { Account, BounceImap } from './connected-create.js';

export interface ConnectedUpdateDeps {
  config: Config;
  db: Knex;
  stores: Stores;
  log: Logger;
  credentials?: KeyRing;
}

/** The body of `PATCH /api/v1/mailboxes/{address}` for a connected mailbox (strict; every field optional). */
const UpdateConnected = z.strictObject({
  imap: Account.partial().optional(),
  smtp: Account.partial().nullable().optional(),
  bounce_imap: BounceImap.partial().nullable().optional(),
});

/** Whether a parsed PATCH body changes a connected mailbox's accounts (else it is the hosted TTL change). */
export const wantsAccountPatch = (body: unknown): boolean =>
  typeof body === 'object' && body !== null && ('imap' in body || 'smtp' in body || 'bounce_imap' in body);

/** A connected mailbox's TTL cannot change: a connected mailbox never expires. */
export const ttlNotApplicable = () =>
  new BadRequest('a connected mailbox does not expire: ttl_minutes does not apply', 'ttl_not_applicable');

/**
 * `PATCH /api/v1/mailboxes/{address}` with `{"imap":{…},"smtp":{…}|null}` (needs `manage`: the owner's API key):
 * no query parameters (`ttl_minutes`: 400 ttl_not_applicable), then connected/update.ts. A hosted mailbox has no
 * accounts: 400 not_connected.
 */
export async function updateConnected(ctx: Context, deps: ConnectedUpdateDeps, body: unknown) {
  if (ctx.query.ttl_minutes !== undefined) throw ttlNotApplicable();
  const names = Object.keys(ctx.query);
  if (names.length > 0)
    throw new BadRequest(
      `unknown parameter ${names[0]} (the accounts are changed by a JSON body)`,
      'unknown_parameter',
    );
  const { bounce_imap: bounce, ...input } = parseBody(body, UpdateConnected);
  checkBounceFolder(bounce?.folder);
  const m = await mailboxFor(principalOf(ctx), deps.stores, ctx.params.address, 'manage', {
    connected: true,
  });
  if (m.kind !== 'connected') throw new BadRequest('imap and smtp apply to connected mailboxes only', 'not_connected');
  const bounceImap = bounce && (({ verp_domain, ...rest }) => ({ ...rest, verpDomain: verp_domain }))(bounce);
  const updated = await updateConnectedMailbox(deps, m, {
    ...input,
    ...(bounce !== undefined ? { bounceImap: bounceImap ?? null } : {}),
  });
  deps.log.info({
    event: 'mailbox.connected_updated',
    mailboxId: m.id,
    accounts: Object.keys(input).concat(bounce !== undefined ? ['bounce_imap'] : []),
  });
  ctx.body = presentConnected(updated);
}
