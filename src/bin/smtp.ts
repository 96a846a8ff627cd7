import { createContainer } from '../container.js';
import { loadConfig } from '../core/config.js';
import { exitOnSignals } from '../core/shutdown.js';
import { startMetricsServer } from '../ops/metrics-server.js';
import { startSmtp } from '../roles/smtp.js';

const config = loadConfig();
const deps = await createContainer(config, 'smtp');
const smtp = await startSmtp(deps);
const metrics = await startMetricsServer(deps);
exitOnSignals(deps.log, config.shutdownBudgetMs, [smtp.close, ...(metrics ? [metrics.close] : []), deps.close]);
