import { startDovecot, type Dovecot, type DovecotUser } from './dovecot.js';
import { startSystem, type System, type SystemOptions } from './system.js';
import { call, createTenant, type Tenant } from './tenants.js';

/** Something in front of Dovecot (a counting or breakable TCP proxy): the mailboxes connect through it. */
export interface Front {
  port: number;
  close(): unknown;
}

export interface ConnectedFixtureOptions<P extends Front | undefined> {
  /** passwd-file users of the private Dovecot */
  users: DovecotUser[];
  /** more dovecot.conf lines (e.g. an `imap_capability` without IDLE) */
  extraConf?: string;
  /** fill Dovecot before the system starts (APPEND, seedMaildir) */
  seed?: (dv: Dovecot) => Promise<void> | void;
  /** a proxy in front of Dovecot: `imap()` and `connect()` point at it */
  proxy?: (dovecotPort: number) => Promise<P>;
  /** default ['web'] */
  roles?: SystemOptions['roles'];
  /** over CONNECTED_ALLOW_HOSTS=127.0.0.1 */
  env?: Record<string, string>;
  overrides?: SystemOptions['overrides'];
  /** the system's Redis key prefix (default: a fresh one), for more roles started beside it */
  prefix?: string;
  /** how many tenants (plan `pro`) to create; the first is `owner` (default 1) */
  tenants?: number;
}

export interface ConnectedFixture<P extends Front | undefined = undefined> {
  dv: Dovecot;
  sys: System;
  /** the first of `tenants` */
  owner: Tenant;
  tenants: Tenant[];
  proxy: P;
  /** the `imap` body of a connected mailbox logging in as `user` (password from `users`, or the one given) */
  imap(
    user: string,
    password?: string,
  ): { host: string; port: number; tls: 'none'; username: string; password: string };
  /**
   * POST a connected mailbox (owner by default) logging in as `user`, `extra` merged into the body (smtp,
   * bounce_imap); throws unless 201. Its id.
   */
  connect(address: string, user: string, opts?: { owner?: Tenant; extra?: Record<string, unknown> }): Promise<string>;
  /** the system, the proxy, then Dovecot; idempotent */
  stop(): Promise<void>;
}

/**
 * The start of every connected-mailbox test file: a private Dovecot with its users (seeded before anything
 * connects), optionally a proxy in front of it, Mailwright in-process allowed to reach loopback IMAP, and its
 * tenants. Whatever started is stopped again if a later step fails.
 */
export async function connectedFixture<P extends Front | undefined = undefined>(
  opts: ConnectedFixtureOptions<P>,
): Promise<ConnectedFixture<P>> {
  const passwords = new Map(opts.users.map((u) => [u.user, u.password]));
  const stops: Array<() => unknown> = [];
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      for (const s of stops.reverse()) await s();
    })());
  try {
    const dv = await startDovecot({ users: opts.users, extraConf: opts.extraConf });
    stops.push(() => dv.stop());
    await opts.seed?.(dv);
    const proxy = (opts.proxy ? await opts.proxy(dv.port) : undefined) as P;
    if (proxy) stops.push(() => proxy.close());
    const sys = await startSystem({
      roles: opts.roles ?? ['web'],
      env: { CONNECTED_ALLOW_HOSTS: '127.0.0.1', ...opts.env },
      ...(opts.overrides ? { overrides: opts.overrides } : {}),
      ...(opts.prefix ? { prefix: opts.prefix } : {}),
    });
    stops.push(() => sys.stop());
    const tenants: Tenant[] = [];
    for (let i = 0; i < (opts.tenants ?? 1); i++) tenants.push(await createTenant(sys, 'pro'));
    const imap: ConnectedFixture<P>['imap'] = (user, password) => ({
      host: '127.0.0.1',
      port: proxy?.port ?? dv.port,
      tls: 'none',
      username: user,
      password: password ?? passwords.get(user) ?? '',
    });
    return {
      dv,
      sys,
      owner: tenants[0]!,
      tenants,
      proxy,
      imap,
      async connect(address, user, o = {}) {
        const owner = o.owner ?? tenants[0]!;
        const r = await call(sys, 'POST', '/api/v1/mailboxes', {
          token: owner.apiKey,
          body: { kind: 'connected', address, imap: imap(user), ...o.extra },
        });
        if (r.status !== 201) throw new Error(`connect ${address}: ${r.status} ${r.text}`);
        return (await sys.deps.stores.mailboxes.findConnected(owner.userId, address))!.id;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
