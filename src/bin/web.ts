import {
  resolveCredentialsRing,
  resolveTokenSecret,
  warnIfGeneratedSecret,
  warnIfNoCredentialsKey,
} from '../access/secret.js';
import { createContainer } from '../container.js';
import { loadConfigOrExit, orExit } from '../core/config.js';
import { exitOnSignals } from '../core/shutdown.js';
import { startWeb } from '../roles/web.js';

const config = loadConfigOrExit();
// production without TOKEN_SECRET is a configuration error: one message, exit 2
const tokenSecret = orExit(() => resolveTokenSecret(config));
const deps = await createContainer(config, 'web');
warnIfGeneratedSecret(config, deps.log);
warnIfNoCredentialsKey(config, deps.log);
const credentials = resolveCredentialsRing(config);
const shutdown = exitOnSignals(deps.log, config.shutdownBudgetMs);
shutdown.add(deps.close);
shutdown.add((await shutdown.start(startWeb(deps, { tokenSecret, credentials }))).close);
shutdown.ready();
