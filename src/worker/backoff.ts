/**
 * Exponential backoff with full jitter and a cap (the AWS "full jitter" scheme): the delay before
 * retry `attempt` (1-based: the delay after the first failure is attempt 1) is uniform in
 * `[0, min(maxMs, baseMs * 2^(attempt-1))]`. Pure; `random` is injectable for tests.
 */
export function backoffDelayMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

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
