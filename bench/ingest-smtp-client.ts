import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

/**
 * BENCH_PIPELINING=1: send MAIL, RCPT and DATA in one write and the body with its final "." in another
 * (RFC 2920, as MTAs such as Postfix do when the server advertises PIPELINING), instead of waiting for
 * each reply. Off by default, so that figures stay comparable with earlier runs.
 */
const PIPELINING = process.env.BENCH_PIPELINING === '1';

/**
 * A minimal raw-socket SMTP client for load generation: by default no pipelining (every command waits for
 * its reply), one message after another on the same connection, exact bytes on the wire, and the moment
 * the final "." was written (end of DATA) recorded with performance.now().
 */
export class LoadSmtpConnection {
  private buffer = '';
  /** the server advertised PIPELINING and BENCH_PIPELINING=1 */
  private pipelining = false;
  private waiter: ((reply: string) => void) | undefined;
  private failure: Error | undefined;
  private failWaiter: ((err: Error) => void) | undefined;

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.buffer += d;
      this.drain();
    });
    const fail = (err: Error) => {
      this.failure ??= err;
      this.failWaiter?.(this.failure);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed by server')));
  }

  static async open(host: string, port: number, timeoutMs: number): Promise<LoadSmtpConnection> {
    const socket = connect({ host, port });
    const c = new LoadSmtpConnection(socket);
    const greeting = await c.reply(timeoutMs);
    if (!greeting.startsWith('220')) throw new Error(`unexpected greeting ${greeting}`);
    const ehlo = await c.command('EHLO load.test', timeoutMs);
    if (!ehlo.startsWith('250')) throw new Error(`EHLO refused: ${ehlo}`);
    c.pipelining = PIPELINING && /^250[- ]PIPELINING$/m.test(ehlo);
    if (PIPELINING && !c.pipelining) throw new Error('BENCH_PIPELINING=1 but the server does not advertise PIPELINING');
    return c;
  }

  /** a complete (possibly multi-line) reply from the buffer, if there is one */
  private take(): string | undefined {
    const m = /^(?:\d{3}-[^\r\n]*\r\n)*\d{3}(?: [^\r\n]*)?\r\n/.exec(this.buffer);
    if (!m) return undefined;
    this.buffer = this.buffer.slice(m[0].length);
    return m[0].trimEnd();
  }

  private drain() {
    if (!this.waiter) return;
    const r = this.take();
    if (r === undefined) return;
    const w = this.waiter;
    this.waiter = undefined;
    this.failWaiter = undefined;
    w(r);
  }

  reply(timeoutMs: number): Promise<string> {
    const ready = this.take();
    if (ready !== undefined) return Promise.resolve(ready);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`no SMTP reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = (r) => {
        clearTimeout(timer);
        resolve(r);
      };
      this.failWaiter = (e) => {
        clearTimeout(timer);
        this.waiter = undefined;
        reject(e);
      };
    });
  }

  command(line: string, timeoutMs: number): Promise<string> {
    this.socket.write(`${line}\r\n`);
    return this.reply(timeoutMs);
  }

  /**
   * One complete transaction (MAIL, RCPT, DATA, body). `body` must already be dot-stuffed and end with
   * CRLF. Returns the final reply and the end-of-DATA instant (after the terminating "." was written).
   */
  async send(from: string, to: string, body: Buffer, timeoutMs: number): Promise<{ reply: string; endOfData: number }> {
    if (this.pipelining) return this.sendPipelined(from, to, body, timeoutMs);
    const mail = await this.command(`MAIL FROM:<${from}>`, timeoutMs);
    if (!mail.startsWith('250')) return { reply: mail, endOfData: performance.now() };
    const rcpt = await this.command(`RCPT TO:<${to}>`, timeoutMs);
    if (!rcpt.startsWith('250')) {
      await this.command('RSET', timeoutMs);
      return { reply: rcpt, endOfData: performance.now() };
    }
    const go = await this.command('DATA', timeoutMs);
    if (!go.startsWith('354')) return { reply: go, endOfData: performance.now() };
    this.socket.write(body);
    this.socket.write('.\r\n');
    const endOfData = performance.now();
    return { reply: await this.reply(timeoutMs), endOfData };
  }

  private async sendPipelined(
    from: string,
    to: string,
    body: Buffer,
    timeoutMs: number,
  ): Promise<{ reply: string; endOfData: number }> {
    this.socket.write(`MAIL FROM:<${from}>\r\nRCPT TO:<${to}>\r\nDATA\r\n`);
    const mail = await this.reply(timeoutMs);
    const rcpt = await this.reply(timeoutMs);
    const go = await this.reply(timeoutMs);
    if (!go.startsWith('354')) {
      // MAIL or RCPT was refused, so DATA was too (503/554): the transaction is over; RSET as the plain path does
      if (mail.startsWith('250')) await this.command('RSET', timeoutMs);
      const refusal = [mail, rcpt, go].find((r) => !r.startsWith('250')) ?? go;
      return { reply: refusal, endOfData: performance.now() };
    }
    this.socket.write(Buffer.concat([body, DOT]));
    const endOfData = performance.now();
    return { reply: await this.reply(timeoutMs), endOfData };
  }

  async quit(): Promise<void> {
    await this.command('QUIT', 2_000).catch(() => '');
    this.socket.destroy();
  }

  destroy() {
    this.socket.destroy();
  }
}

const DOT = Buffer.from('.\r\n', 'latin1');
const LINE = 'The quick brown fox jumps over the lazy dog; Mailwright load test body line. 0123456789';

/** A text body of about `bytes` bytes, CRLF lines of 76 characters, never starting with a dot. */
export function bodyOf(bytes: number): Buffer {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const line = `${String(i).padStart(5, '0')} ${LINE}`.slice(0, 76);
    lines.push(line);
    size += line.length + 2;
  }
  return Buffer.from(`${lines.join('\r\n')}\r\n`, 'latin1');
}

export const subjectOf = (tag: string, conn: number, i: number) => `mwbench ${tag} ${conn}.${i}`;

/** Headers with a unique Subject and Message-ID, then the shared body: the whole message is ~`size` bytes. */
export function messageOf(tag: string, conn: number, i: number, to: string, body: Buffer): Buffer {
  const head =
    'From: Load Generator <load@load.test>\r\n' +
    `To: <${to}>\r\n` +
    `Subject: ${subjectOf(tag, conn, i)}\r\n` +
    `Message-ID: <${tag}.${conn}.${i}@load.test>\r\n` +
    `Date: ${new Date().toUTCString().replace('GMT', '+0000')}\r\n` +
    'MIME-Version: 1.0\r\n' +
    'Content-Type: text/plain; charset=us-ascii\r\n' +
    '\r\n';
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}
