import { loadConfigOrExit } from '../core/config.js';
import { createLogger, exitAfterLog } from '../core/log.js';
import { release } from '../ops/release.js';

// a configuration error: one `invalid configuration:` message and exit 2, as every entrypoint
const config = loadConfigOrExit();
// one JSON line on stdout, like every other role's log lines (role, level, time, event)
const log = createLogger(config, 'release');
try {
  log.info({ event: 'release.done', ...(await release(config)) });
  exitAfterLog(log, 0);
} catch (err) {
  log.error({ event: 'release.failed', message: (err as Error).message });
  exitAfterLog(log, 1);
}
