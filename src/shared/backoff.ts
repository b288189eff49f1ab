/**
 * Exponential backoff: the one formula every retry loop of bb-reaper uses (the worker's close
 * retries, one-shot client retries, the ingress bridge, Redis reconnects, the start-up API check).
 */

/**
 * The ceiling of the delay before retry `attempt` (1-based: the delay after the first failure is
 * attempt 1): `min(maxMs, baseMs * 2^(attempt-1))`.
 */
export function backoffCeilingMs(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(attempt - 1, 52)));
}

/**
 * Full jitter (the AWS scheme): uniform in `[0, backoffCeilingMs(attempt, baseMs, maxMs)]`,
 * in whole ms. Pure; `random` is injectable for tests.
 */
export function backoffDelayMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  return Math.floor(random() * backoffCeilingMs(attempt, baseMs, maxMs));
}
