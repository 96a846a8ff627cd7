import type { Readable } from 'node:stream';
import { IngressBusy, MessageTooLarge, SessionTimeLimit } from '../../core/errors.js';
import type { DataBudget } from './data-budget.js';

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
 *
 * With a `budget` (SMTP_MAX_DATA_BYTES_IN_FLIGHT, data-budget.ts) every chunk is taken from it first; a chunk that does
 * not fit drops what was collected, the rest is discarded, and the promise rejects with IngressBusy (452) at the end.
 * The bytes of a message that resolves stay taken: the caller releases `raw.length` once the message is enqueued.
 */
export function collectMessage(
  stream: Readable & { sizeExceeded?: boolean },
  maxBytes: number,
  signal?: AbortSignal,
  budget?: DataBudget,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    /** bytes taken from the budget (those of `chunks`) */
    let taken = 0;
    let tooLarge = false;
    let overBudget = false;
    let aborted = false;
    const drop = () => {
      chunks.length = 0;
      budget?.release(taken);
      taken = 0;
    };
    const onAbort = () => {
      aborted = true;
      drop();
      reject(new SessionTimeLimit('SMTP time limit reached during DATA'));
    };
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    const settled = () => signal?.removeEventListener('abort', onAbort);
    stream.on('data', (chunk: Buffer) => {
      if (tooLarge || overBudget || aborted) return;
      size += chunk.length;
      if (size > maxBytes) {
        tooLarge = true;
        drop();
        return;
      }
      if (budget) {
        if (!budget.take(chunk.length, taken)) {
          overBudget = true;
          drop();
          return;
        }
        taken += chunk.length;
      }
      chunks.push(chunk);
    });
    stream.once('error', (err: NodeJS.ErrnoException) => {
      settled();
      drop();
      reject(err.code === 'ECONNECTION' ? new ClientGone({ cause: err }) : err);
    });
    stream.once('end', () => {
      settled();
      if (aborted) return;
      if (tooLarge || stream.sizeExceeded) {
        drop();
        reject(new MessageTooLarge(`message exceeds ${maxBytes} bytes`));
      } else if (overBudget) reject(new IngressBusy('SMTP_MAX_DATA_BYTES_IN_FLIGHT reached: the message was not kept'));
      else {
        const raw = Buffer.concat(chunks, size);
        // the caller owns the bytes taken now (it releases them once the message is enqueued)
        chunks.length = 0;
        taken = 0;
        resolve(raw);
      }
    });
  });
}
