import { loadConfig } from '../core/config.js';
import { release } from '../ops/release.js';

try {
  const result = await release(loadConfig());
  console.log(JSON.stringify({ event: 'release.done', ...result }));
} catch (err) {
  console.error(JSON.stringify({ event: 'release.failed', message: (err as Error).message }));
  process.exit(1);
}
