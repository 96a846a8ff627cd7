import { loadConfigOrExit } from '../core/config.js';
import { release } from '../ops/release.js';

// a configuration error: one `invalid configuration:` message and exit 2, as every entrypoint
const config = loadConfigOrExit();
try {
  const result = await release(config);
  console.log(JSON.stringify({ event: 'release.done', ...result }));
} catch (err) {
  console.error(JSON.stringify({ event: 'release.failed', message: (err as Error).message }));
  process.exit(1);
}
