import { createContainer } from '../container.js';
import { loadConfig } from '../core/config.js';
import { exitOnSignals } from '../core/shutdown.js';
import { startMetricsServer } from '../ops/metrics-server.js';
import { startWorker } from '../roles/worker.js';

const config = loadConfig();
const deps = await createContainer(config, 'worker');
const worker = await startWorker(deps);
const metrics = await startMetricsServer(deps);
exitOnSignals(deps.log, config.shutdownBudgetMs, [worker.close, ...(metrics ? [metrics.close] : []), deps.close]);
