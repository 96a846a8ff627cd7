import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';

/**
 * How the sink answers one recipient: `accept` (250 after DATA), `reject` (550 to RCPT), `reject-data` (550 after
 * DATA), `{ tempfail: n }` (451 to its first n RCPTs, then 250), `drop` (the connection closed after the final
 * dot, no reply).
 */
export type Behaviour = 'accept' | 'reject' | 'reject-data' | { tempfail: number } | 'drop';

export interface SinkMessage {
  from: string;
  to: string[];
  raw: Buffer;
  messageId: string | undefined;
  at: number;
}

export interface SmtpSink {
  port: number;
  /** the relay URL for OUTBOUND_RELAY_URL */
  url: string;
  /** every message answered 250 */
  messages: SinkMessage[];
  /** every RCPT TO, in order, as given (with its reply) */
  rcpts: Array<{ address: string; code: number }>;
  connections: number;
  behave: (recipient: string) => Behaviour;
  /**
   * Called once the final dot of a message arrived, before the reply (the crash test stops the worker here);
   * `reply` sends 250.
   */
  onFinalDot?: (msg: SinkMessage, reply: () => void) => void;
  /** polls until pred holds (tests only: the product never polls) */
  waitFor(pred: () => boolean, timeoutMs?: number, what?: string): Promise<void>;
  stop(): Promise<void>;
}

const smtpError = (code: number, text: string) => Object.assign(new Error(text), { responseCode: code });

/** A local SMTP relay on 127.0.0.1:0 answering per recipient as `behave` says (default: accept everything). */
export async function startSmtpSink(
  opts: { auth?: { username: string; password: string } } = {},
): Promise<SmtpSink & { logins: string[] }> {
  const logins: string[] = [];
  const tries = new Map<string, number>();
  const sink: SmtpSink & { logins: string[] } = {
    logins,
    port: 0,
    url: '',
    messages: [],
    rcpts: [],
    connections: 0,
    behave: () => 'accept',
    waitFor: async (pred, timeoutMs = 15_000, what = 'condition') => {
      const until = Date.now() + timeoutMs;
      while (!pred()) {
        if (Date.now() > until) throw new Error(`smtp sink: no ${what} within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    stop: async () => undefined,
  };
  const server = new SMTPServer({
    authOptional: !opts.auth,
    allowInsecureAuth: true,
    disabledCommands: opts.auth ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
    logger: false,
    onAuth(auth, _session, cb) {
      const ok = auth.username === opts.auth?.username && auth.password === opts.auth?.password;
      logins.push(`${auth.username ?? ''}:${ok ? 'ok' : 'refused'}`);
      if (ok) cb(null, { user: auth.username });
      else cb(smtpError(535, '5.7.8 Authentication failed'));
    },
    size: 50 * 1024 * 1024,
    onConnect(_session, cb) {
      sink.connections++;
      cb();
    },
    onRcptTo(address, _session, cb) {
      const b = sink.behave(address.address);
      let code = 250;
      if (b === 'reject') code = 550;
      else if (typeof b === 'object') {
        const n = (tries.get(address.address) ?? 0) + 1;
        tries.set(address.address, n);
        if (n <= b.tempfail) code = 451;
      }
      sink.rcpts.push({ address: address.address, code });
      if (code === 550) return cb(smtpError(550, '5.1.1 No such user here'));
      if (code === 451) return cb(smtpError(451, '4.7.1 Greylisted, try again later'));
      cb();
    },
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        const to = session.envelope.rcptTo.map((r) => r.address);
        const msg: SinkMessage = {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to,
          raw,
          messageId: /^Message-ID:\s*(\S+)/im.exec(raw.toString('latin1'))?.[1],
          at: Date.now(),
        };
        const behaviours = to.map((t) => sink.behave(t));
        if (behaviours.includes('drop')) {
          // close the client's connection without a reply to the final dot
          for (const c of (server as unknown as { connections: Set<{ id: string; _socket: { destroy(): void } }> })
            .connections)
            if (c.id === session.id) c._socket.destroy();
          return;
        }
        if (behaviours.includes('reject-data')) return cb(smtpError(550, '5.7.1 Message refused'));
        const reply = () => {
          sink.messages.push(msg);
          cb(null, 'queued as sink');
        };
        if (sink.onFinalDot) sink.onFinalDot(msg, reply);
        else reply();
      });
    },
  });
  // smtp-server emits a client's socket errors on the server: a worker SIGKILLed by a crash test resets its
  // connection (ECONNRESET), which is expected here and must not become an uncaught exception of the test file
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  sink.port = (server.server.address() as AddressInfo).port;
  sink.url = `smtp://127.0.0.1:${sink.port}`;
  sink.stop = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return sink;
}
