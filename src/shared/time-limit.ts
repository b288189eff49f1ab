/**
 * Waiting for a promise with a time limit: the one helper for "answer within N ms, or else".
 * Timers never keep the process alive.
 */

/** A promise that did not settle within its limit. */
export class TimeLimitError extends Error {
  constructor(readonly what: string, readonly ms: number) {
    super(`${what} did not answer within ${ms} ms`);
    this.name = 'TimeLimitError';
  }
}

/** Resolves with `p`'s value, or rejects with {@link TimeLimitError} after `ms`. */
export async function withTimeLimit<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeLimitError(what, ms)), Math.max(0, ms));
    timer.unref();
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Waits until `p` settles (fulfilled or rejected: both count as done) or `ms` pass. Returns true
 * when it settled in time. For shutdown steps that must not hang on an unreachable server.
 */
export async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  return withTimeLimit(
    p.then(
      () => true,
      () => true,
    ),
    ms,
    'step',
  ).catch(() => false);
}
