import { createContainer } from '../container.js';
import { loadConfig } from '../core/config.js';
import { exitOnSignals } from '../core/shutdown.js';
import { startWorker } from '../roles/worker.js';

const config = loadConfig();
const deps = await createContainer(config, 'worker');
const worker = await startWorker(deps);
exitOnSignals(deps.log, config.shutdownBudgetMs, [worker.close, deps.close]);
