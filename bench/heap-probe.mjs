// Loaded into every role process of `npm run bench` (node --expose-gc --import ./bench/heap-probe.mjs), never in
// production: on SIGUSR2 it runs a full garbage collection and prints the heap still in use. The growth phase
// compares that figure before and after stored mail grew. RSS alone also counts the garbage V8 lets pile up
// between collections, which depends on when the last one ran more than on what the process keeps.
// Plain JavaScript: worker threads inherit --import and load it before any TypeScript loader is in place.
// Worker threads (`npm start`'s delivery thread) have heaps of their own: the main thread asks each, over a
// BroadcastChannel, to collect and answer with its heap in use, and prints the sum (then the parts).
import { BroadcastChannel, isMainThread, threadId } from 'node:worker_threads';

const gc = () => {
  globalThis.gc();
  globalThis.gc(); // a second pass frees what the first one's finalizers and weak references released
  return process.memoryUsage().heapUsed;
};
const channel = new BroadcastChannel('bench.heap-probe');
channel.unref();

if (isMainThread) {
  const threads = new Set();
  let answers = new Map();
  let answered = () => {};
  channel.onmessage = ({ data }) => {
    if (data.type === 'hello') threads.add(data.threadId);
    else if (data.type === 'bye') threads.delete(data.threadId);
    else if (data.type === 'heap') {
      answers.set(data.threadId, data.heapUsed);
      if ([...threads].every((id) => answers.has(id))) answered();
    }
  };
  process.on('SIGUSR2', async () => {
    if (typeof globalThis.gc !== 'function') {
      process.stdout.write('bench.heap_after_gc unavailable (start node with --expose-gc)\n');
      return;
    }
    const main = gc();
    answers = new Map();
    if (threads.size) {
      // a thread busy with a long task answers when it is done; one that does not answer in 10 s is left out
      await new Promise((resolve) => {
        answered = resolve;
        channel.postMessage({ type: 'gc' });
        setTimeout(resolve, 10_000).unref();
      });
    }
    const parts = [...answers.values()];
    const sum = parts.reduce((a, b) => a + b, main);
    const detail = threads.size ? ` (main ${main}, threads ${parts.join(' ') || 'none answered'})` : '';
    process.stdout.write(`bench.heap_after_gc ${sum}${detail}\n`);
  });
} else {
  channel.postMessage({ type: 'hello', threadId });
  process.on('exit', () => channel.postMessage({ type: 'bye', threadId }));
  channel.onmessage = ({ data }) => {
    if (data.type === 'gc' && typeof globalThis.gc === 'function')
      channel.postMessage({ type: 'heap', threadId, heapUsed: gc() });
  };
}
