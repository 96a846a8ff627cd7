import type { Readable } from 'node:stream';
import { MessageTooLarge } from '../../core/errors.js';

/**
 * Drain the DATA stream. Past `maxBytes` the chunks are discarded (memory stays bounded) and the
 * promise rejects with MessageTooLarge (552) once the client has finished sending.
 */
export function collectMessage(stream: Readable & { sizeExceeded?: boolean }, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    stream.on('data', (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > maxBytes) {
        tooLarge = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    stream.once('error', reject);
    stream.once('end', () => {
      if (tooLarge || stream.sizeExceeded) reject(new MessageTooLarge(`message exceeds ${maxBytes} bytes`));
      else resolve(Buffer.concat(chunks, size));
    });
  });
}
