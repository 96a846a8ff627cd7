import { randomFillSync } from 'node:crypto';
import { ulid } from 'ulid';

/** Random bytes drawn from crypto in blocks (one call per 256 ids), handed out 16 at a time, never reused. */
const POOL_BYTES = 4096;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let used = POOL_BYTES;
const random16 = () => {
  if (used + 16 > POOL_BYTES) {
    randomFillSync(pool);
    used = 0;
  }
  const at = used;
  used += 16;
  return at;
};

/**
 * A ULID whose 80 random bits come from the crypto pool above. `ulid()` alone looks up its PRNG and asks
 * crypto for one byte per character on every call, a visible cost on the hot path of ingress and delivery
 * (one id each per message), and one randomBytes(16) per id still showed in the smtp role's CPU profile
 * under load (figures: docs/benchmarks/README.md). Same format, same randomness source.
 */
export function newUlid(now = Date.now()): string {
  const at = random16();
  let i = 0;
  // ulid maps prng() in [0, 1) to one of 32 characters: byte / 256 keeps that uniform (16 chars use 16 bytes)
  return ulid(now, () => pool[at + (i++ % 16)]! / 256);
}
