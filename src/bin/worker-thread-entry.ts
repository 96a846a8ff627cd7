// Runs inside the worker thread that `npm start` gives the delivery worker (src/roles/worker-thread.ts; loaded by
// worker-thread.mjs): its own configuration (the same environment), connections, pipeline and metrics registry.
import { parentPort, workerData } from 'node:worker_threads';
import { resolveCredentialsRing } from '../access/secret.js';
import { createContainer } from '../container.js';
import { loadConfig } from '../core/config.js';
import { drainLog } from '../core/log.js';
import { createMetrics } from '../ops/metrics.js';
import { startWorker } from '../roles/worker.js';
import { withThreadShare, type ThreadShare } from '../roles/thread-share.js';
import type { FromThread, ToThread } from '../roles/worker-thread-messages.js';

const port = parentPort;
if (!port) throw new Error('worker-thread-entry runs only in a worker thread');
const send = (m: FromThread) => port.postMessage(m);

// the process's configuration, with this thread's share of WORKER_MAX_BYTES_IN_FLIGHT (roles/thread-share.ts)
const config = withThreadShare(loadConfig(), workerData as ThreadShare | undefined);
const deps = await createContainer(config, 'worker', { metrics: createMetrics('worker', { processMetrics: false }) });
const role = await startWorker(deps, { credentials: resolveCredentialsRing(config) });
port.on('message', (m: ToThread) => {
  if (m.type === 'metrics') {
    void deps.metrics.registry.getMetricsAsJSON().then((metrics) => send({ type: 'metrics', id: m.id, metrics }));
  } else if (m.type === 'close') {
    void role
      .close()
      .then(() => deps.close())
      // the thread's log lines still buffered must reach stdout before the main thread ends it
      .then(() => drainLog(deps.log))
      .then(
        () => send({ type: 'closed' }),
        (err: unknown) => send({ type: 'closed', error: String(err) }),
      );
  }
});
send({ type: 'ready' });
