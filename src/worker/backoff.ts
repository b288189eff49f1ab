/** Exponential backoff with full jitter: one formula for every retry loop (see shared/backoff.ts). */
export { backoffDelayMs } from '../shared/backoff.js';

/** Default cap of one backoff delay (ms). */
export const DEFAULT_BACKOFF_MAX_MS = 60_000;
/** Longest pause honoured from a server's `retry-after` (ms). */
export const MAX_RATE_LIMIT_PAUSE_MS = 60_000;
/** Pause used when a 429 carries no delay at all (ms). */
export const DEFAULT_RATE_LIMIT_PAUSE_MS = 1_000;

/** The pause to honour for a 429: the server's delay, at least 50 ms, capped. */
export function rateLimitPauseMs(retryAfterMs: number | undefined, maxMs = MAX_RATE_LIMIT_PAUSE_MS): number {
  const ms = retryAfterMs === undefined || !Number.isFinite(retryAfterMs) ? DEFAULT_RATE_LIMIT_PAUSE_MS : retryAfterMs;
  return Math.min(maxMs, Math.max(50, ms));
}
