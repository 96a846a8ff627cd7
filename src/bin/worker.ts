import { resolveCredentialsRing, warnIfNoBounceSecret } from '../access/secret.js';
import { createContainer } from '../container.js';
import { loadConfigOrExit } from '../core/config.js';
import { exitOnSignals } from '../core/shutdown.js';
import { startMetricsServer } from '../ops/metrics-server.js';
import { startWorker } from '../roles/worker.js';

const config = loadConfigOrExit();
const deps = await createContainer(config, 'worker');
warnIfNoBounceSecret(config, deps.log);
const shutdown = exitOnSignals(deps.log, config.shutdownBudgetMs);
shutdown.add(deps.close);
const metrics = await shutdown.start(startMetricsServer(deps));
if (metrics) shutdown.add(metrics.close);
// the worker consumes as soon as it exists: a signal from here on waits for it and then closes it gracefully
shutdown.add((await startWorker(deps, { credentials: resolveCredentialsRing(config) })).close);
shutdown.ready();
