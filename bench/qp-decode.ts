// node --import tsx bench/qp-decode.ts [rounds]: in one process, alternating, the CPU per message of the two ways to
// read the quoted-printable parts of the `html` preset (bench/ingest-mail.ts): libqp.decode on a latin1 string,
// then UTF-8 and CRLF -> LF (the fast path before issue 23's second pass), and qpText (src/pipeline/qp-text.ts).
import libqp from 'libqp';
import { presetMessage } from './ingest-mail.js';
import { qpText } from '../src/pipeline/qp-text.js';

const raw = presetMessage('html', 'qp', 0, 1, 'box@example.test');
const s = raw.toString('latin1');
const MARK = 'Content-Transfer-Encoding: quoted-printable';
const bodies: Buffer[] = [];
for (let at = s.indexOf(MARK); at !== -1; at = s.indexOf(MARK, at + 1)) {
  const from = s.indexOf('\r\n\r\n', at) + 4;
  bodies.push(raw.subarray(from, s.indexOf('\r\n--', from)));
}
const viaLibqp = (b: Buffer) => libqp.decode(b.toString('latin1')).toString().replace(/\r?\n/g, '\n');
const cpuMs = (f: (b: Buffer) => string, n: number) => {
  const c = process.cpuUsage();
  for (let i = 0; i < n; i++) for (const b of bodies) f(b);
  const u = process.cpuUsage(c);
  return (u.user + u.system) / 1000 / n;
};
console.log(`quoted-printable parts of one message: ${bodies.map((b) => `${b.length} B`).join(', ')}`);
for (let r = 0; r < Number(process.argv[2] ?? 6); r++)
  console.log(
    `round ${r}: libqp ${cpuMs(viaLibqp, 1000).toFixed(3)} ms, qpText ${cpuMs(qpText, 1000).toFixed(3)} ms CPU per message`,
  );
