import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelayMs } from '../shared/backoff.js';
import { BrowserbaseError, isRetryableError } from './errors.js';

export interface WithRetriesOptions {
  /** Retries after the first attempt (so `retries + 1` attempts at most). Default 2. */
  retries?: number;
  /** Base of the exponential backoff with full jitter, in ms. Default 500. */
  baseMs?: number;
  /** Cap of every wait, including a server's `retryAfterMs`, in ms. Default 8 000. */
  maxMs?: number;
  /** Stops waiting and retrying; the error has code `ABORTED`. */
  signal?: AbortSignal;
  /** Called before each wait, e.g. to log "retrying in 1200 ms". */
  onRetry?: (info: { attempt: number; delayMs: number; error: BrowserbaseError }) => void;
}

/**
 * The delay before retry number `attempt` (1-based): the server's `retryAfterMs` when it sent one
 * (capped at `maxMs`), otherwise full jitter over `min(maxMs, baseMs * 2^(attempt-1))`.
 */
export function retryDelayMs(error: BrowserbaseError, attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  if (error.retryAfterMs !== undefined) return Math.min(error.retryAfterMs, maxMs);
  return backoffDelayMs(attempt, baseMs, maxMs, random);
}

/**
 * Runs `fn` and retries it on `RATE_LIMITED` and `TRANSIENT` errors, for one-shot callers such as
 * the CLI (the worker has its own retry policy). Other errors are thrown at once; after the last
 * retry the last error is thrown.
 */
export async function withRetries<T>(fn: (attempt: number) => Promise<T>, options: WithRetriesOptions = {}): Promise<T> {
  const { retries = 2, baseMs = 500, maxMs = 8_000, signal, onRetry } = options;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (!isRetryableError(err) || attempt > retries || signal?.aborted) throw err;
      const delayMs = retryDelayMs(err, attempt, baseMs, maxMs);
      onRetry?.({ attempt, delayMs, error: err });
      try {
        await sleep(delayMs, undefined, { signal });
      } catch (cause) {
        throw new BrowserbaseError('ABORTED', `Retrying was aborted by the caller after attempt ${attempt}: ${err.message}`, { cause });
      }
    }
  }
}
