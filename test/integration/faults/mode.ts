/** `npm run test:faults` sets FAULTS=full (the sizes); `npm test` runs the reduced form. */
export const FULL = process.env.FAULTS === 'full';
export const size = <T>(reduced: T, full: T): T => (FULL ? full : reduced);

/** Poll `fn` until it returns true or the deadline passes; returns the elapsed ms. */
export async function until(
  fn: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
  everyMs = 100,
): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await fn()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
