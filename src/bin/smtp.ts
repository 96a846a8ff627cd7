import { warnIfNoBounceSecret } from '../access/secret.js';
import { createContainer } from '../container.js';
import { loadConfigOrExit } from '../core/config.js';
import { exitOnSignals } from '../core/shutdown.js';
import { startMetricsServer } from '../ops/metrics-server.js';
import { startSmtp } from '../roles/smtp.js';

const config = loadConfigOrExit();
const deps = await createContainer(config, 'smtp');
warnIfNoBounceSecret(config, deps.log);
const shutdown = exitOnSignals(deps.log, config.shutdownBudgetMs);
shutdown.add(deps.close);
const metrics = await shutdown.start(startMetricsServer(deps));
if (metrics) shutdown.add(metrics.close);
shutdown.add((await shutdown.start(startSmtp(deps))).close);
shutdown.ready();
