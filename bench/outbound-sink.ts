// The local SMTP sink of bench/outbound.ts in its own process (forked with an IPC channel), so the relay's CPU is
// not counted against the API that the benchmark times. It tells its parent its URL, then answers `count` with the
// number of messages accepted so far (it keeps none: the long phase sends 50,000).
import { startSmtpSink } from '../test/helpers/smtp-sink.js';

const sink = await startSmtpSink();
let received = 0;
const drain = () => {
  received += sink.messages.length;
  sink.messages.length = 0;
};
setInterval(drain, 200).unref();
process.on('message', (m: { kind: string }) => {
  if (m.kind === 'count') {
    drain();
    process.send?.({ kind: 'count', received, cpu: process.cpuUsage() });
  } else if (m.kind === 'stop') void sink.stop().then(() => process.exit(0));
});
process.send?.({ kind: 'ready', url: sink.url });
