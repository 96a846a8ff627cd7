import test from 'ava';
import { listenProblem } from '../../src/core/listen.js';

const at = { port: 465, host: '0.0.0.0', portVariable: 'SMTPS_PORT', hostVariable: 'SMTP_HOST' };
const errno = (code: string) => Object.assign(new Error(`listen ${code}`), { code, syscall: 'listen' });

test('a port in use names the port, the host and the variable to change', (t) => {
  t.is(
    listenProblem(errno('EADDRINUSE'), at),
    'port 465 (SMTPS_PORT) is already in use on 0.0.0.0: stop the other process or set SMTPS_PORT',
  );
});

test('a port this user may not open (below 1024 without privileges) says so and names the variable', (t) => {
  t.is(
    listenProblem(errno('EACCES'), at),
    'port 465 (SMTPS_PORT) on 0.0.0.0 is not permitted for this user (ports below 1024 need root or CAP_NET_BIND_SERVICE): set SMTPS_PORT to 1024 or above, or map the port',
  );
});

test('a host that is not an address of this machine names the host variable', (t) => {
  t.is(
    listenProblem(errno('EADDRNOTAVAIL'), { ...at, host: '10.9.8.7' }),
    'host 10.9.8.7 (SMTP_HOST) is not an address of this machine: set SMTP_HOST (0.0.0.0 listens on every address)',
  );
});

test('any other error is not explained (it keeps its stack trace)', (t) => {
  t.is(listenProblem(errno('EMFILE'), at), undefined);
  t.is(listenProblem(new Error('no code'), at), undefined);
  t.is(listenProblem(undefined, at), undefined);
});
