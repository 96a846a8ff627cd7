// NODE_OPTIONS="--import ./bench/cpu-profile-preload.mjs" with CPU_PROFILE_DIR=<dir>: a V8 CPU profile of the whole
// process, written when it exits (node refuses --cpu-prof in NODE_OPTIONS; bench/outbound.ts uses this for its
// worker processes). The in-thread inspector session answers synchronously, so the 'exit' handler can write it.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const dir = process.env.CPU_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.start');
  process.on('exit', () => {
    session.post('Profiler.stop', (err, res) => {
      if (!err) writeFileSync(`${dir}/CPU.${process.pid}.cpuprofile`, JSON.stringify(res.profile));
    });
  });
}
