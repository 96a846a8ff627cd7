/**
 * `work`, or a rejection with `message` (an Error with that text, or the error it makes) once `ms` have passed (its
 * timer cleared either way, so it never keeps a process alive). The work itself is not cancelled: callers bound how
 * long they wait, not what it costs.
 */
export async function within<T>(
  work: Promise<T>,
  ms: number,
  message: string | (() => Error) = `no answer within ${ms} ms`,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(typeof message === 'string' ? new Error(message) : message()), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
