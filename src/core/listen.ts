import type { Server } from 'node:net';
import { StartError } from './shutdown.js';

/** Where a listener listens, and the variables that set it (named in the error an operator reads). */
export interface ListenAt {
  port: number;
  host: string;
  /** e.g. SMTP_PORT */
  portVariable: string;
  /** e.g. SMTP_HOST */
  hostVariable: string;
}

/**
 * The one line an operator reads when a port cannot be opened for a reason they can fix, or undefined for any
 * other error (which keeps its stack trace: it is not expected).
 */
export function listenProblem(err: unknown, at: ListenAt): string | undefined {
  const { port, host, portVariable, hostVariable } = at;
  switch ((err as NodeJS.ErrnoException | undefined)?.code) {
    case 'EADDRINUSE':
      return `port ${port} (${portVariable}) is already in use on ${host}: stop the other process or set ${portVariable}`;
    case 'EACCES':
      return `port ${port} (${portVariable}) on ${host} is not permitted for this user (ports below 1024 need root or CAP_NET_BIND_SERVICE): set ${portVariable} to 1024 or above, or map the port`;
    case 'EADDRNOTAVAIL':
      return `host ${host} (${hostVariable}) is not an address of this machine: set ${hostVariable} (0.0.0.0 listens on every address)`;
    case undefined: // not a system error
    default:
      return undefined;
  }
}

/**
 * `server.listen(port, host)` as a promise. A port in use, a port not permitted or a host that is not local
 * rejects with a StartError naming the port and its variable (the entrypoint prints that one line and exits 1,
 * like the Postgres/Redis preflight); anything else rejects with the error itself.
 */
export function listen(server: Server, at: ListenAt): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const failed = (err: Error) => {
      const problem = listenProblem(err, at);
      reject(problem ? new StartError(problem, { cause: err }) : err);
    };
    // left attached once listening, as before: it absorbs the first later 'error' of a server that has no
    // handler of its own (the smtp role has one; web and metrics do not yet)
    server.once('error', failed);
    server.listen(at.port, at.host, () => resolve());
  });
}
