import type { SMTPServer } from 'smtp-server';

/** A session is busy between MAIL FROM and the reply to its DATA (smtp-server resets the envelope then). */
const busy = (server: SMTPServer) =>
  [...server.connections].filter((c) => Boolean(c.session?.envelope?.mailFrom)).length;

/**
 * Graceful SMTP stop. The listener stays open while draining so a new session gets a clean 421 (the
 * ingress' `accepting()` is false by now) instead of a refused connection; transactions in progress
 * (a DATA being received or enqueued) get up to `waitMs` to finish; then every remaining session is
 * sent 421 and closed, and the listener is closed.
 */
export async function drainSmtp(
  server: SMTPServer,
  waitMs: number,
  pollMs = 25,
): Promise<{ waitedMs: number; cut: number }> {
  const started = Date.now();
  while (busy(server) > 0 && Date.now() - started < waitMs) {
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  const cut = busy(server);
  for (const connection of server.connections) connection.send(421, 'Service shutting down, try again later');
  await new Promise<void>((resolve) => server.server.close(() => resolve()));
  return { waitedMs: Date.now() - started, cut };
}
