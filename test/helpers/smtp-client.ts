import { connect, type Socket } from 'node:net';

/** A raw SMTP client for tests: exact bytes on the wire, every reply visible. */
export class RawSmtp {
  private buffer = '';
  private waiters: Array<() => void> = [];
  private closed = false;
  private constructor(readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.buffer += d;
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {
      this.closed = true;
      this.wake();
    });
  }

  /** `localAddress`: the client's source address (127.0.0.2, 127.0.0.3, ...: different clients on loopback) */
  static async open(
    port: number,
    host = '127.0.0.1',
    localAddress?: string,
  ): Promise<{ client: RawSmtp; greeting: string }> {
    const socket = connect({ port, host, ...(localAddress ? { localAddress } : {}) });
    const client = new RawSmtp(socket);
    const greeting = await client.reply();
    return { client, greeting };
  }

  private wake() {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Next complete reply (multi-line aware), e.g. "250 2.0.0 Ok". */
  async reply(timeoutMs = 10_000): Promise<string> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const m = /^(?:\d{3}-[^\r\n]*\r\n)*\d{3}(?: [^\r\n]*)?\r\n/.exec(this.buffer);
      if (m) {
        this.buffer = this.buffer.slice(m[0].length);
        return m[0].trimEnd();
      }
      if (this.closed) throw new Error(`connection closed; pending: ${JSON.stringify(this.buffer)}`);
      const left = until - Date.now();
      if (left <= 0) throw new Error(`no SMTP reply within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async command(line: string): Promise<string> {
    this.socket.write(line + '\r\n');
    return this.reply();
  }

  /** DATA with dot-stuffing; returns the final reply. */
  async data(raw: Buffer | string): Promise<string> {
    const go = await this.command('DATA');
    if (!go.startsWith('354')) return go;
    const text = Buffer.isBuffer(raw) ? raw.toString('latin1') : raw;
    const body = text.replace(/\r?\n/g, '\r\n').replace(/^\./gm, '..');
    this.socket.write(Buffer.from(body + (body.endsWith('\r\n') ? '' : '\r\n') + '.\r\n', 'latin1'));
    return this.reply();
  }

  /** Send one message in a fresh session; returns every reply. */
  static async sendOnce(port: number, from: string, to: string[], raw: Buffer | string) {
    const { client } = await RawSmtp.open(port);
    try {
      await client.command('EHLO test.local');
      const mail = await client.command(`MAIL FROM:<${from}>`);
      const rcpts = [];
      for (const r of to) rcpts.push(await client.command(`RCPT TO:<${r}>`));
      const data = rcpts.some((r) => r.startsWith('250')) ? await client.data(raw) : '';
      await client.command('QUIT').catch(() => '');
      return { mail, rcpts, data };
    } finally {
      client.socket.destroy();
    }
  }
}
