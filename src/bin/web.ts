import { tokenSecretOrExit } from '../access/secret.js';
import { createContainer } from '../container.js';
import { loadConfigOrExit } from '../core/config.js';
import { exitOnSignals } from '../core/shutdown.js';
import { startWeb } from '../roles/web.js';

const config = loadConfigOrExit();
const tokenSecret = tokenSecretOrExit(config);
const deps = await createContainer(config, 'web');
const shutdown = exitOnSignals(deps.log, config.shutdownBudgetMs);
shutdown.add(deps.close);
shutdown.add((await startWeb(deps, { tokenSecret })).close);
shutdown.ready();
