// Entry of the delivery worker's thread in `npm start` (src/roles/worker-thread.ts). Plain JavaScript:
// on Node 20 a worker thread cannot be pointed at a .ts file, even with `--import tsx` inherited, so this
// registers tsx in the thread, then loads the TypeScript side.
import { register } from 'tsx/esm/api';

register();
await import('./worker-thread-entry.ts');
