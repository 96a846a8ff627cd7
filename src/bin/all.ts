// `npm start`: every role in one process, for a single machine. Needs no configuration.
import {
  LOCAL_SECRET_FILE,
  resolveCredentialsRing,
  resolveTokenSecret,
  warnIfGeneratedSecret,
  warnIfNoBounceSecret,
  warnIfNoCredentialsKey,
} from '../access/secret.js';
import { createContainer } from '../container.js';
import { loadConfigOrExit, orExit } from '../core/config.js';
import { exitOnSignals } from '../core/shutdown.js';
import { describeAdminBoard } from '../ops/admin-board.js';
import { preflight } from '../ops/preflight.js';
import { release } from '../ops/release.js';
import { startSmtp } from '../roles/smtp.js';
import { startWeb } from '../roles/web.js';
import { startWorker } from '../roles/worker.js';
import { startWorkerThread } from '../roles/worker-thread.js';
import { threadShare } from '../roles/thread-share.js';

const config = loadConfigOrExit();
// production without TOKEN_SECRET is a configuration error: one message, exit 2
const tokenSecret = orExit(() => resolveTokenSecret(config));
const problems = await preflight(config);
if (problems.length) {
  console.error(`Mailwright cannot start:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
const migrated = await release(config);
const deps = await createContainer(config, 'all');
deps.log.info({ event: 'release.done', ...migrated });
const generatedSecret = warnIfGeneratedSecret(config, deps.log);
warnIfNoCredentialsKey(config, deps.log);
warnIfNoBounceSecret(config, deps.log);
const credentials = resolveCredentialsRing(config);
// closers run last registered first: web and smtp (the ingress), then the worker, then shared connections
const shutdown = exitOnSignals(deps.log, config.shutdownBudgetMs);
shutdown.add(deps.close);
// WORKER_THREAD (default): delivery in a worker thread of its own, so it does not share SMTP's and the API's core
const thread = config.worker.thread
  ? await startWorkerThread(
      deps.log,
      config.ops.queueMetricsTimeoutMs,
      new URL('./worker-thread.mjs', import.meta.url),
      // WORKER_MAX_BYTES_IN_FLIGHT is the process's: each delivery thread gets its share
      threadShare(config, 1),
    )
  : undefined;
shutdown.add(thread ? thread.close : (await startWorker(deps, { credentials })).close);
const smtp = await shutdown.start(startSmtp(deps));
shutdown.add(smtp.close);
const web = await shutdown.start(startWeb(deps, { tokenSecret, credentials, moreMetrics: thread?.metrics }));
shutdown.add(web.close);
shutdown.ready();

const host = config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host;
const smtpHost = config.smtp.host === '0.0.0.0' ? '127.0.0.1' : config.smtp.host;
const base = config.http.publicUrl ?? `http://${host}:${web.port}`;
process.stdout.write(
  `\nMailwright is running.\n` +
    `  HTTP API:  ${base}/api/v1   (health: ${base}/healthz)\n` +
    `  SMTP:      ${smtpHost}:${smtp.port}   accepting mail for: ${config.mail.domains.join(', ')}\n` +
    `  Admin:     Bull Board ${describeAdminBoard(config.ops, base)}\n` +
    `  Tokens:    ${
      generatedSecret
        ? `signed with this machine's own secret (${LOCAL_SECRET_FILE}); set TOKEN_SECRET, the same on every web process, before adding a host`
        : 'signed with TOKEN_SECRET (every web process of this deployment needs the same one)'
    }\n` +
    (smtp.smtpsPort !== undefined ? `  SMTPS:     ${smtpHost}:${smtp.smtpsPort}   implicit TLS (SMTPS_PORT)\n` : '') +
    `  Try:       curl -s -X POST '${base}/api/v1/mailboxes?ttl_minutes=30'\n\n`,
);
