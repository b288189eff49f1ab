/**
 * The data of bb-reaper's BullMQ jobs. This is a public schema: services in other languages add
 * close jobs directly with a BullMQ client, so fields are only ever added, never renamed.
 * No job ever carries an API key.
 */

/**
 * Limits of close job data. The worker checks every field it reads against them before any
 * work: a job outside them is dead-lettered at once as `INVALID_JOB`, naming the field (see the
 * README's "Adding close jobs directly with a BullMQ client").
 */
export const CLOSE_JOB_LIMITS = {
  /** Most attempt records a job's `history` may hold; the worker keeps the newest this many. */
  MAX_HISTORY: 1_000,
  /** Longest attempt `message`, characters; the worker cuts longer API answers to this, with a note. */
  MAX_MESSAGE_LENGTH: 1_000,
  /**
   * Longest attempt `message` a job may arrive with, characters: a longer one (from a worker that
   * did not cut yet) is cut to `MAX_MESSAGE_LENGTH` when read, not refused; beyond this it is refused.
   */
  MAX_STORED_MESSAGE_LENGTH: 1_000_000,
  /** Longest attempt `code`, characters. */
  MAX_CODE_LENGTH: 64,
  /** Largest attempt number and `redriveCount`. */
  MAX_COUNT: 1_000_000,
  /** How far ahead of the worker's clock `enqueuedAt` and an attempt's `at` may be (clock skew), ms: one day. */
  MAX_CLOCK_AHEAD_MS: 86_400_000,
} as const;

/** Data of a close job (queue `close`, job name `close-session`, job id `closeJobId(sessionId)`). */
export interface CloseJobData {
  /** The Browserbase session id to release. */
  sessionId: string;
  /** Sent as `projectId` with the close when set. */
  projectId?: string;
  /** Caller's correlation id, echoed in the results stream. */
  requestId?: string;
  /**
   * The account whose key closes it. The queue decides (`close` is `default`'s, `close@<account>`
   * another's); this field, written by bb-reaper's producers for accounts other than `default`,
   * must name the same account when present.
   */
  account?: string;
  /** Milliseconds since the epoch when the close was first accepted. */
  enqueuedAt: number;
  /** Where it came from: `library`, `cli`, `ingress`, `sweep`, `redrive`, ... */
  source?: string;
  /** Attempt history, kept across re-drives. */
  history?: AttemptRecord[];
  /** Entries of `history` from before the last re-drive: attempts are counted after them. */
  attemptsOffset?: number;
  /** Times this close was re-driven from the dead-letter queue. */
  redriveCount?: number;
  /**
   * Set on the close job of a lease (created by `producer.lease`, `bb-reaper lease`, the ingress
   * fields `close_after` / `close_at`): the job waits delayed until the lease's deadline.
   */
  lease?: true;
}

/** One attempt at a close, as kept in the dead-letter provenance. */
export interface AttemptRecord {
  /** Attempt number, 1-based. */
  attempt: number;
  /** ms since the epoch. */
  at: number;
  /** Error code (`TRANSIENT`, `REJECTED`, ...) or `OK`. */
  code: string;
  httpStatus?: number;
  message?: string;
}

/**
 * How a close ends, the one list: `closed` (released), `already_gone` (404, or already ended),
 * `verified` (released and confirmed ended by polling), `dead_lettered` (failed for good). Used by
 * the results stream, the metrics (`bb_reaper_closes_total{outcome}`) and `waitForCloses`.
 */
export const CLOSE_OUTCOMES = ['closed', 'already_gone', 'verified', 'dead_lettered'] as const;
export type FinalOutcome = (typeof CLOSE_OUTCOMES)[number];
/** The outcomes of a close job that completed (every one but `dead_lettered`). */
export type CompletedOutcome = Exclude<FinalOutcome, 'dead_lettered'>;

/** Return value of a completed close job: the seed's `{id, status}` plus the outcome. */
export interface CloseJobResult {
  id: string;
  status: string;
  outcome: CompletedOutcome;
  httpStatus: number;
  attempts: number;
  finishedAt: number;
  /**
   * Browser minutes this close saved at most: from the close to the session's `expiresAt`, for a
   * session still running when it was released (an upper bound: it might have ended sooner anyway).
   */
  minutesSaved?: number;
  /** How the lease of this close ended, for the close job of a lease: `fired` at its deadline, `released` before it, `superseded` by a close request. */
  leaseEnd?: LeaseEnd;
}

/** How a lease's close came about: `fired` (deadline passed unrenewed), `released` (its holder), `superseded` (a close request). */
export type LeaseEnd = 'fired' | 'released' | 'superseded';

/** Data of a dead letter (queue `dead-letter`, job id = the source job id). */
export interface DeadLetterData {
  sourceQueue: string;
  sourceJobId: string;
  /** The account of the close (`default` when none was named); absent in letters written before accounts. */
  account?: string;
  /**
   * Creation time of the close job that failed (its BullMQ `timestamp`, ms epoch): with
   * `sourceJobId` it names that one run, so each failure of a re-driven close is its own result.
   * Absent in letters written before it was added.
   */
  sourceJobTimestamp?: number;
  sessionId: string;
  projectId?: string;
  requestId?: string;
  enqueuedAt: number;
  deadLetteredAt: number;
  attemptsMade: number;
  /** Code of the final error (`REJECTED`, `TRANSIENT`, ...). */
  errorCode: string;
  httpStatus?: number;
  /** The server's message, or the error's. */
  message: string;
  history: AttemptRecord[];
  /** ms epoch when the dead letter was parked in the failed state of the DLQ (set by the DLQ processor). */
  parkedAt?: number;
  /** Number of times this close was re-driven before. */
  redriveCount?: number;
  /** Set when the failed close was a lease's (its re-drive is a plain close). */
  lease?: true;
}
