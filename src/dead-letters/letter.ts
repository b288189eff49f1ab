/**
 * The dead letter itself, pure: built from a close job that failed for good, turned into the close
 * a re-drive enqueues, and into the one result entry it writes. No Redis here.
 *
 * Letters may be added by anyone (other languages' BullMQ clients) and jobs may hold anything, so
 * every function is total and bounded whatever the data.
 */
import type { Job } from 'bullmq';
import type { ResultEntry } from '../results/results-stream.js';
import { BULLMQ_STALLED_REASON } from '../shared/bullmq-keys.js';
import { CLOSE_JOB_LIMITS, type AttemptRecord, type CloseJobData, type DeadLetterData } from '../shared/jobs.js';
import { accountOfJobId, closeQueueName, DEFAULT_ACCOUNT } from '../shared/names.js';
import { previewValue } from '../shared/printable.js';
import { cutText, InvalidJobError, isIntegerIn, parseCloseJobData } from '../worker/job-data.js';

const { MAX_HISTORY, MAX_CODE_LENGTH, MAX_COUNT } = CLOSE_JOB_LIMITS;

type Loose = Record<string, unknown>;
/** `v` as a record to read fields from; `{}` for anything that is not a plain object. */
export const asObject = (v: unknown): Loose => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Loose) : {});

/** The fields of a failed close job a letter is built from (a BullMQ `Job` has them). */
export type FailedCloseJob = Pick<Job<CloseJobData>, 'id' | 'timestamp' | 'data' | 'failedReason'>;

/** Why a close job failed for good. */
export interface FailureCause {
  /** A code of the registry (`REJECTED`, `TRANSIENT`, `INVALID_JOB`, `STALLED`, `UNKNOWN`, ...). */
  code: string;
  httpStatus?: number;
  message: string;
}

/** A letter's text field: a string is kept (cut when huge); another value is described, never copied. */
const letterText = (v: unknown): string => (typeof v === 'string' ? cutText(v) : `(not a string: ${previewValue(v)})`);

/** One history record as a letter keeps it: the record's own fields, bounded and of their types. */
function letterRecord(r: unknown): AttemptRecord {
  if (r === null || typeof r !== 'object' || Array.isArray(r)) return { attempt: 0, at: 0, code: 'UNKNOWN', message: `(not an attempt record: ${previewValue(r)})` };
  const a = r as Loose;
  return {
    attempt: typeof a.attempt === 'number' ? a.attempt : 0,
    at: typeof a.at === 'number' ? a.at : 0,
    code: typeof a.code === 'string' ? cutText(a.code, MAX_CODE_LENGTH) : 'UNKNOWN',
    ...(typeof a.httpStatus === 'number' ? { httpStatus: a.httpStatus } : {}),
    ...(a.message !== undefined ? { message: letterText(a.message) } : {}),
  };
}

/** Workers before the code registry wrote `INVALID_JOB: <reason>` as the reason; the reason alone is kept. */
const LEGACY_INVALID_PREFIX = 'INVALID_JOB: ';

/** Why the job's data is invalid (the worker's own check, run again), or undefined when it is valid. */
function invalidReason(data: unknown, now: number): string | undefined {
  try {
    parseCloseJobData(data, now);
    return undefined;
  } catch (err) {
    return err instanceof InvalidJobError ? err.message : `job data cannot be read: ${previewValue(err)}`;
  }
}

/**
 * Why a close job failed for good, read from what the job holds, never parsed out of a message:
 * 1. its data is not valid close job data (the worker's check, run again) -> `INVALID_JOB`, with
 *    the reason the job failed with (the worker failed it with exactly that check's reason);
 * 2. else its newest attempt record: before failing a close for good (rejected, or its last
 *    transient attempt) the worker records that attempt, code and HTTP status included;
 * 3. else (no record: BullMQ failed the job itself, no processor said why) -> `STALLED` when
 *    its reason is BullMQ's stalled-limit reason, else `UNKNOWN`; the message is BullMQ's reason.
 */
export function failureOf(job: FailedCloseJob, history: AttemptRecord[], now = Date.now()): FailureCause {
  const reason = typeof job.failedReason === 'string' && job.failedReason !== '' ? job.failedReason : undefined;
  const invalid = invalidReason(job.data, now);
  if (invalid !== undefined) {
    const said = reason?.startsWith(LEGACY_INVALID_PREFIX) ? reason.slice(LEGACY_INVALID_PREFIX.length) : reason;
    return { code: 'INVALID_JOB', message: cutText(said ?? invalid) };
  }
  const last = history[history.length - 1];
  if (last !== undefined) return { code: last.code, ...(last.httpStatus !== undefined ? { httpStatus: last.httpStatus } : {}), message: last.message ?? cutText(reason ?? 'failed') };
  return { code: reason === BULLMQ_STALLED_REASON ? 'STALLED' : 'UNKNOWN', message: cutText(reason ?? 'unknown failure') };
}

/**
 * Builds a dead letter from a close job that failed for good. Total and bounded whatever the job
 * holds (an invalid job is dead-lettered too): at most the newest `MAX_HISTORY` records are
 * copied, every text is cut, and the final code follows {@link failureOf}.
 */
export function buildDeadLetter(job: FailedCloseJob, now = Date.now()): DeadLetterData {
  const data = asObject(job.data);
  const all: unknown[] = Array.isArray(data.history) ? data.history : [];
  const history = all.slice(-MAX_HISTORY).map(letterRecord);
  const offset = data.attemptsOffset;
  const attemptsMade = offset === undefined ? all.length : isIntegerIn(offset, 0, all.length) ? all.length - offset : 0;
  const failure = failureOf(job, history, now);
  // the job id names the account (`shared/names.ts`), and so the queue it failed in
  const account = accountOfJobId(String(job.id));
  return {
    sourceQueue: closeQueueName(account),
    sourceJobId: String(job.id),
    account,
    ...(Number.isFinite(job.timestamp) ? { sourceJobTimestamp: job.timestamp } : {}),
    sessionId: letterText(data.sessionId),
    ...(typeof data.projectId === 'string' ? { projectId: cutText(data.projectId) } : {}),
    ...(typeof data.requestId === 'string' ? { requestId: cutText(data.requestId) } : {}),
    enqueuedAt: typeof data.enqueuedAt === 'number' ? data.enqueuedAt : job.timestamp,
    deadLetteredAt: now,
    attemptsMade,
    errorCode: failure.code,
    ...(failure.httpStatus !== undefined ? { httpStatus: failure.httpStatus } : {}),
    message: failure.message,
    history,
    ...(isIntegerIn(data.redriveCount, 0, MAX_COUNT) ? { redriveCount: data.redriveCount } : {}),
    ...(data.lease === true ? { lease: true as const } : {}),
  };
}

/** True when two letters describe the same failure (a move repeated after a crash). */
export function sameFailure(existing: unknown, b: DeadLetterData): boolean {
  const a = asObject(existing);
  if (a.sourceJobTimestamp !== undefined && b.sourceJobTimestamp !== undefined && a.sourceJobTimestamp !== b.sourceJobTimestamp) return false;
  return a.enqueuedAt === b.enqueuedAt && (Array.isArray(a.history) ? a.history.length : 0) === b.history.length && a.errorCode === b.errorCode;
}

/**
 * The close a re-drive puts back on the close queue: the same session with fresh attempts, the
 * history kept (bounded) and the re-drive counted. A letter may have been added by anyone: what
 * is copied is bounded, and the worker checks it like any close job.
 */
export function redriveData(letter: unknown): CloseJobData {
  const d = asObject(letter) as Partial<DeadLetterData>;
  const history = Array.isArray(d.history) ? d.history.slice(-MAX_HISTORY) : [];
  return {
    sessionId: d.sessionId as string,
    enqueuedAt: d.enqueuedAt as number,
    source: 'redrive',
    history,
    attemptsOffset: history.length,
    redriveCount: (isIntegerIn(d.redriveCount, 0, MAX_COUNT) ? d.redriveCount : 0) + 1,
    ...(d.projectId !== undefined ? { projectId: d.projectId } : {}),
    ...(d.requestId !== undefined ? { requestId: d.requestId } : {}),
    ...(typeof d.sourceJobId === 'string' && accountOfJobId(d.sourceJobId) !== DEFAULT_ACCOUNT ? { account: accountOfJobId(d.sourceJobId) } : {}),
  };
}

/**
 * The one `dead_lettered` entry of `<prefix>:results` for a letter, whichever path recorded it
 * (the worker's move on failure, or the backstop sweep after a crash). Its identity is the source
 * job's own run (`sourceJobId`, `sourceJobTimestamp`): a move repeated after a crash is written
 * once, and each failure of a re-driven close is its own result. Letters written before
 * `sourceJobTimestamp` existed fall back to `enqueuedAt`.
 */
export function deadLetterResult(letter: DeadLetterData): ResultEntry {
  return {
    jobId: letter.sourceJobId,
    jobTimestamp: letter.sourceJobTimestamp ?? letter.enqueuedAt,
    sessionId: letter.sessionId,
    ...(letter.requestId !== undefined ? { requestId: letter.requestId } : {}),
    outcome: 'dead_lettered',
    ...(letter.httpStatus !== undefined ? { httpStatus: letter.httpStatus } : {}),
    errorCode: letter.errorCode,
    attempts: letter.attemptsMade,
    finishedAt: letter.deadLetteredAt,
    ...(letter.lease === true ? { lease: true } : {}),
    account: letter.account ?? DEFAULT_ACCOUNT,
  };
}
