// Loaded into every role process of `npm run bench` (node --expose-gc --import ./bench/heap-probe.mjs), never in
// production: on SIGUSR2 it runs a full garbage collection and prints the heap still in use. The growth phase
// compares that figure before and after stored mail grew. RSS alone also counts the garbage V8 lets pile up
// between collections, which depends on when the last one ran more than on what the process keeps.
// Plain JavaScript: worker threads inherit --import and load it before any TypeScript loader is in place.
import { isMainThread } from 'node:worker_threads';

if (isMainThread) {
  process.on('SIGUSR2', () => {
    if (typeof globalThis.gc !== 'function') {
      process.stdout.write('bench.heap_after_gc unavailable (start node with --expose-gc)\n');
      return;
    }
    globalThis.gc();
    globalThis.gc(); // a second pass frees what the first one's finalizers and weak references released
    process.stdout.write(`bench.heap_after_gc ${process.memoryUsage().heapUsed}\n`);
  });
}
