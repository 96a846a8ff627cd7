// Runs inside the worker thread that `npm start` gives the delivery worker (src/roles/worker-thread.ts; loaded by
// worker-thread.mjs): its own configuration (the same environment), connections, pipeline and metrics registry.
import { parentPort, workerData } from 'node:worker_threads';
import { resolveCredentialsRing } from '../access/secret.js';
import { createContainer } from '../container.js';
import { loadConfig } from '../core/config.js';
import { drainLog } from '../core/log.js';
import { createMetrics } from '../ops/metrics.js';
import { startWorker } from '../roles/worker.js';
import type { FromThread, ToThread } from '../roles/worker-thread-messages.js';
import type { ThreadPlace } from '../roles/worker-thread.js';
import { shareBetweenThreads } from '../roles/thread-share.js';

const port = parentPort;
if (!port) throw new Error('worker-thread-entry runs only in a worker thread');
const send = (m: FromThread) => port.postMessage(m);

const place = (workerData as ThreadPlace | undefined) ?? { index: 0, of: 1 };
const config = shareBetweenThreads(loadConfig(), place.of);
const deps = await createContainer(config, 'worker', { metrics: createMetrics('worker', { processMetrics: false }) });
// thread 0 runs the whole worker role; the others only consume the inbound queues (no second maintenance, outbound,
// bounce or webhook worker, nor IDLE watchers: those are not what keeps a core busy)
const role = await startWorker(deps, {
  credentials: resolveCredentialsRing(config),
  inboundOnly: place.index > 0,
  thread: place.of > 1 ? place.index : undefined,
});
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
