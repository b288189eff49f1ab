/**
 * One place for queue names, job names, job ids and Redis key names. Every key bb-reaper writes
 * starts with the configured prefix (`BB_REAPER_PREFIX`, default `bb-reaper`).
 */

/** Key prefix when none is configured (`BB_REAPER_PREFIX` / `--prefix`): the one place this default is written. */
export const DEFAULT_PREFIX = 'bb-reaper';

/** BullMQ queue that holds pending close requests. */
export const CLOSE_QUEUE = 'close';
/** BullMQ queue that holds closes that failed for good, with their provenance. */
export const DEAD_LETTER_QUEUE = 'dead-letter';
/** Job name of a close request (other-language BullMQ clients must use it). */
export const CLOSE_JOB_NAME = 'close-session';
/** BullMQ queue of recurring sweeps (`bb-reaper sweep --every`). */
export const SWEEP_QUEUE = 'sweep';
/** Job name of a dead letter. */
export const DEAD_LETTER_JOB_NAME = 'dead-letter';

/**
 * Deterministic job id of the close of one session: the same session enqueued twice while
 * pending is the same job. BullMQ forbids `:` in custom ids, so the id is percent-encoded.
 */
export function closeJobId(sessionId: string): string {
  return `${CLOSE_JOB_ID_PREFIX}${encodeURIComponent(sessionId)}`;
}

/** What every {@link closeJobId} starts with. */
export const CLOSE_JOB_ID_PREFIX = 'close-';

/**
 * The session id inside a close job id: the inverse of {@link closeJobId}. Undefined when `jobId`
 * is not one (no `close-` prefix, or not valid percent-encoding, e.g. a job added by another
 * client with its own id). Pure, never throws.
 */
export function parseCloseJobId(jobId: string): string | undefined {
  if (typeof jobId !== 'string' || !jobId.startsWith(CLOSE_JOB_ID_PREFIX)) return undefined;
  try {
    return decodeURIComponent(jobId.slice(CLOSE_JOB_ID_PREFIX.length));
  } catch {
    return undefined;
  }
}

/** Redis keys outside BullMQ's own, all under the prefix. */
export function keys(prefix: string) {
  return {
    ingress: `${prefix}:ingress`,
    ingressRejected: `${prefix}:ingress:rejected`,
    results: `${prefix}:results`,
    limiter: `${prefix}:limiter`,
    workerHeartbeat: `${prefix}:workers`,
    /** Hash all worker processes add their metric counts to. */
    metrics: `${prefix}:metrics`,
  };
}
