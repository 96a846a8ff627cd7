import type { Readable } from 'node:stream';
import { MessageTooLarge, SessionTimeLimit } from '../../core/errors.js';

/**
 * The connection closed before the final dot (the client hung up, or went quiet past SMTP_SOCKET_TIMEOUT_MS):
 * no reply can reach the client, and nothing on our side failed. smtp-server destroys the DATA stream with
 * `code: 'ECONNECTION'` then.
 */
export class ClientGone extends Error {
  constructor(options?: { cause?: unknown }) {
    super('the connection closed before the message was received in full', options);
    this.name = 'ClientGone';
  }
}

/**
 * Drain the DATA stream. Past `maxBytes` the chunks are discarded (memory stays bounded) and the
 * promise rejects with MessageTooLarge (552) once the client has finished sending. When `signal`
 * aborts (the session's time limit) what was collected is dropped at once, the rest of the stream is
 * discarded, and the promise rejects with SessionTimeLimit (421) without waiting for the end. When the connection
 * closes mid-message it rejects with ClientGone.
 */
export function collectMessage(
  stream: Readable & { sizeExceeded?: boolean },
  maxBytes: number,
  signal?: AbortSignal,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    let aborted = false;
    const onAbort = () => {
      aborted = true;
      chunks.length = 0;
      reject(new SessionTimeLimit('SMTP time limit reached during DATA'));
    };
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    const settled = () => signal?.removeEventListener('abort', onAbort);
    stream.on('data', (chunk: Buffer) => {
      if (tooLarge || aborted) return;
      size += chunk.length;
      if (size > maxBytes) {
        tooLarge = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    stream.once('error', (err: NodeJS.ErrnoException) => {
      settled();
      reject(err.code === 'ECONNECTION' ? new ClientGone({ cause: err }) : err);
    });
    stream.once('end', () => {
      settled();
      if (aborted) return;
      if (tooLarge || stream.sizeExceeded) reject(new MessageTooLarge(`message exceeds ${maxBytes} bytes`));
      else resolve(Buffer.concat(chunks, size));
    });
  });
}
