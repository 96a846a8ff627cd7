import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface SmtpAuthServer {
  port: number;
  /** Every AUTH attempt, in order. */
  auths: { username: string; ok: boolean }[];
  stop(): Promise<void>;
}

/**
 * A local SMTP server on 127.0.0.1 requiring AUTH without TLS: accepts `username` with `password`, refuses
 * anything else with a reply that echoes the password tried (as a hostile server might).
 */
export async function startSmtpAuthServer(username: string, password: string): Promise<SmtpAuthServer> {
  const auths: SmtpAuthServer['auths'] = [];
  const server = new SMTPServer({
    authOptional: false,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth(auth, _session, cb) {
      const ok = auth.username === username && auth.password === password;
      auths.push({ username: auth.username ?? '', ok });
      if (ok) cb(null, { user: auth.username });
      else cb(new Error(`bad password ${auth.password ?? ''} for ${auth.username ?? ''}`));
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.server.address() as AddressInfo).port,
    auths,
    stop: () => new Promise<void>((resolve) => server.close(resolve)),
  };
}
