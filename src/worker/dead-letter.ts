import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { CLOSE_JOB_LIMITS, type AttemptRecord, type CloseJobData, type DeadLetterData } from '../shared/jobs.js';
import { CLOSE_JOB_NAME, CLOSE_QUEUE, DEAD_LETTER_JOB_NAME, DEAD_LETTER_QUEUE } from '../shared/names.js';
import type { Queues } from '../shared/queues.js';
import type { Logger } from '../shared/logger.js';
import { formatEpochMs, previewValue, printable } from '../shared/printable.js';
import { cutText, isIntegerIn } from './job-data.js';

type DlqQueues = Pick<Queues, 'closeQueue' | 'deadLetterQueue'>;

const { MAX_HISTORY, MAX_CODE_LENGTH, MAX_COUNT } = CLOSE_JOB_LIMITS;

type Loose = Record<string, unknown>;
const asObject = (v: unknown): Loose => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Loose) : {});

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

/**
 * Builds a dead letter from a close job that failed for good. Total and bounded whatever the job
 * holds (an invalid job is dead-lettered too): at most the newest `MAX_HISTORY` records are
 * copied, every text is cut, and an invalid job's letter names why it is invalid.
 */
export function buildDeadLetter(job: Job<CloseJobData>, now = Date.now()): DeadLetterData {
  const data = asObject(job.data);
  const all: unknown[] = Array.isArray(data.history) ? data.history : [];
  const history = all.slice(-MAX_HISTORY).map(letterRecord);
  const offset = data.attemptsOffset;
  const attemptsMade = offset === undefined ? all.length : isIntegerIn(offset, 0, all.length) ? all.length - offset : 0;
  const reasonCode = codeOf(job.failedReason);
  // An invalid job fails before any attempt: its reason says why, not the last record of its history.
  const last = reasonCode === 'INVALID_JOB' ? undefined : history[history.length - 1];
  return {
    sourceQueue: CLOSE_QUEUE,
    sourceJobId: String(job.id),
    sessionId: letterText(data.sessionId),
    ...(typeof data.projectId === 'string' ? { projectId: cutText(data.projectId) } : {}),
    ...(typeof data.requestId === 'string' ? { requestId: cutText(data.requestId) } : {}),
    enqueuedAt: typeof data.enqueuedAt === 'number' ? data.enqueuedAt : job.timestamp,
    deadLetteredAt: now,
    attemptsMade,
    errorCode: last?.code ?? reasonCode,
    ...(last?.httpStatus !== undefined ? { httpStatus: last.httpStatus } : {}),
    message: last?.message ?? cutText(stripCode(job.failedReason) ?? 'unknown failure'),
    history,
    ...(isIntegerIn(data.redriveCount, 0, MAX_COUNT) ? { redriveCount: data.redriveCount } : {}),
  };
}

function stripCode(reason: string | undefined): string | undefined {
  return typeof reason === 'string' ? reason.replace(/^[A-Z_]{3,}: /, '') : undefined;
}

function codeOf(reason: string | undefined): string {
  if (typeof reason !== 'string' || !reason) return 'UNKNOWN';
  if (/stalled/i.test(reason)) return 'STALLED';
  const m = /^([A-Z_]{3,})\b/.exec(reason);
  return m?.[1] ?? 'UNKNOWN';
}

/** A value from a letter for one line of text: a string cut and made printable, anything else previewed. */
const shownText = (v: unknown): string => (typeof v === 'string' ? printable(cutText(v)) : previewValue(v));
const shownNumber = (v: unknown): string => (typeof v === 'number' ? String(v) : v === undefined ? '?' : previewValue(v));

/**
 * One readable line: what Bull Board shows as the failure reason of a dead letter. Total: a
 * letter added by anyone, with any data, gets a bounded line (a bad time reads `(not a time: …)`).
 */
export function describeDeadLetter(letter: DeadLetterData): string {
  const d = asObject(letter);
  const http = d.httpStatus !== undefined ? ` (HTTP ${shownNumber(d.httpStatus)})` : '';
  const attempts = `${shownNumber(d.attemptsMade)} attempt${d.attemptsMade === 1 ? '' : 's'}`;
  const code = d.errorCode === undefined ? 'UNKNOWN' : shownText(d.errorCode);
  const message = d.message === undefined ? 'unknown failure' : shownText(d.message);
  const session = d.sessionId === undefined ? '(no session id)' : shownText(d.sessionId);
  return `${code}${http}: ${message} — session ${session}, ${attempts}, enqueued ${formatEpochMs(d.enqueuedAt)}, dead-lettered ${formatEpochMs(d.deadLetteredAt)}`;
}

/** One job-log line per attempt of a letter: `attempt 2 at <ISO time>: TRANSIENT HTTP 503 — <message>`. */
function describeAttemptLine(record: unknown): string {
  const a = asObject(record);
  const http = a.httpStatus !== undefined ? ` HTTP ${shownNumber(a.httpStatus)}` : '';
  const message = a.message !== undefined && a.message !== '' ? ` — ${shownText(a.message)}` : '';
  return `attempt ${shownNumber(a.attempt)} at ${formatEpochMs(a.at)}: ${shownText(a.code)}${http}${message}`;
}

/**
 * Moves a close job that failed for good to the dead-letter queue, then removes it from the close
 * queue. Idempotent (the dead letter's id is the close job's id), so it is safe to repeat after a
 * crash at any point: the backstop sweep (`moveFailedToDeadLetter`) finds what was left behind.
 * Returns the dead letter, or undefined when the job was no longer in the failed state.
 */
export async function moveToDeadLetter(queues: DlqQueues, job: Job<CloseJobData>): Promise<DeadLetterData | undefined> {
  const state = await job.getState();
  if (state !== 'failed') return undefined;
  const letter = buildDeadLetter(job);
  const existing = await queues.deadLetterQueue.getJob(String(job.id));
  if (existing && !sameFailure(existing.data, letter)) {
    // An older letter of the same session (closed again after an earlier dead letter, and failed
    // again): the new failure replaces it, so the letter shows what happened last.
    await existing.remove();
  }
  await queues.deadLetterQueue.add(DEAD_LETTER_JOB_NAME, letter, { jobId: String(job.id) });
  await job.remove();
  return letter;
}

/** True when two letters describe the same failure (a move repeated after a crash). */
function sameFailure(existing: DeadLetterData | undefined, b: DeadLetterData): boolean {
  const a = asObject(existing);
  return a.enqueuedAt === b.enqueuedAt && (Array.isArray(a.history) ? a.history.length : 0) === b.history.length && a.errorCode === b.errorCode;
}

/** Backstop: moves every close job still in the failed state to the DLQ. Returns the letters moved. */
export async function moveFailedToDeadLetter(queues: DlqQueues, pageSize = 500): Promise<DeadLetterData[]> {
  const moved: DeadLetterData[] = [];
  for (;;) {
    const failed = await queues.closeQueue.getFailed(0, pageSize - 1);
    if (failed.length === 0) return moved;
    let progress = 0;
    for (const job of failed) {
      if (!job) continue;
      try {
        const letter = await moveToDeadLetter(queues, job);
        if (letter) {
          moved.push(letter);
          progress++;
        }
      } catch {
        // locked or removed concurrently by another worker: it will be seen next round
      }
    }
    if (progress === 0) return moved;
  }
}

export interface DeadLetterEntry {
  id: string;
  state: string;
  data: DeadLetterData;
  failedReason?: string;
}

/** Dead letters, newest first (all states: parked letters are `failed`, fresh ones `waiting`). */
export async function listDeadLetters(queues: DlqQueues, { start = 0, end = 99 }: { start?: number; end?: number } = {}): Promise<DeadLetterEntry[]> {
  const jobs = await queues.deadLetterQueue.getJobs(['failed', 'waiting', 'active', 'delayed', 'prioritized'], start, end, false);
  const entries: DeadLetterEntry[] = [];
  for (const job of jobs) {
    if (!job?.id) continue;
    entries.push({ id: job.id, state: await job.getState(), data: job.data, ...(job.failedReason ? { failedReason: job.failedReason } : {}) });
  }
  return entries;
}

/** Puts one dead letter's close back on the close queue with fresh attempts (history kept). */
async function requeueClose(queues: DlqQueues, letter: DeadLetterData): Promise<void> {
  // A letter may have been added by anyone: what is copied is bounded, and the worker checks it.
  const d = asObject(letter) as Partial<DeadLetterData>;
  const history = Array.isArray(d.history) ? d.history.slice(-MAX_HISTORY) : [];
  const data: CloseJobData = {
    sessionId: d.sessionId as string,
    enqueuedAt: d.enqueuedAt as number,
    source: 'redrive',
    history,
    attemptsOffset: history.length,
    redriveCount: (isIntegerIn(d.redriveCount, 0, MAX_COUNT) ? d.redriveCount : 0) + 1,
    ...(d.projectId !== undefined ? { projectId: d.projectId } : {}),
    ...(d.requestId !== undefined ? { requestId: d.requestId } : {}),
  };
  await queues.closeQueue.add(CLOSE_JOB_NAME, data, typeof d.sourceJobId === 'string' ? { jobId: d.sourceJobId } : {});
}

/**
 * Re-drives dead letters directly (no worker needed): each close goes back on the close queue
 * with fresh attempts, then its dead letter is removed. A crash in between leaves both, and the
 * close is pending: nothing is lost.
 */
export async function redriveDeadLetters(queues: DlqQueues, { ids, all = false }: { ids?: string[]; all?: boolean }): Promise<{ redriven: string[]; missing: string[] }> {
  const redriven: string[] = [];
  const missing: string[] = [];
  const redriveJob = async (job: Job<DeadLetterData>) => {
    await requeueClose(queues, job.data);
    await job.remove();
    redriven.push(String(job.id));
  };
  if (all) {
    for (;;) {
      const page = await queues.deadLetterQueue.getJobs(['failed', 'waiting', 'delayed', 'prioritized'], 0, 499, true);
      const before = redriven.length;
      for (const job of page) {
        if (!job) continue;
        try {
          await redriveJob(job);
        } catch {
          // locked by the DLQ processor right now (being parked): the next page retries it
        }
      }
      if (page.length === 0 || redriven.length === before) break;
    }
    return { redriven, missing };
  }
  for (const id of ids ?? []) {
    const job = await queues.deadLetterQueue.getJob(id);
    if (!job) {
      missing.push(id);
      continue;
    }
    await redriveJob(job);
  }
  return { redriven, missing };
}

/** Deletes every dead letter. Returns how many. */
export async function purgeDeadLetters(queues: DlqQueues): Promise<number> {
  let n = 0;
  for (const state of ['failed', 'wait', 'delayed', 'completed', 'prioritized'] as const) {
    for (;;) {
      const removed = await queues.deadLetterQueue.clean(0, 1000, state);
      n += removed.length;
      if (removed.length === 0) break;
    }
  }
  return n;
}

export interface DeadLetterProcessorOptions {
  connection: Redis;
  prefix: string;
  logger: Logger;
  queues: DlqQueues;
}

/**
 * The dead-letter queue's processor (runs in every worker and UI process):
 * - a new dead letter is *parked*: it fails at once with a readable reason and one log line per
 *   attempt, so it sits in the DLQ's failed list where Bull Board shows it with a Retry button;
 * - a parked letter that comes back (an operator pressed Retry, or `job.retry()`) is re-driven:
 *   its close goes back on the close queue with fresh attempts and the letter completes and is
 *   removed.
 */
export function startDeadLetterProcessor({ connection, prefix, logger, queues }: DeadLetterProcessorOptions): { worker: Worker<DeadLetterData>; close(): Promise<void> } {
  const worker = new Worker<DeadLetterData>(
    DEAD_LETTER_QUEUE,
    async (job) => {
      const d = asObject(job.data) as unknown as DeadLetterData;
      if (d.parkedAt === undefined) {
        const history: unknown[] = Array.isArray(d.history) ? d.history : [];
        const shown = history.slice(-MAX_HISTORY);
        if (shown.length < history.length) await job.log(`${history.length - shown.length} earlier attempts not shown`);
        for (const a of shown) await job.log(describeAttemptLine(a));
        await job.updateData({ ...d, parkedAt: Date.now() });
        throw new UnrecoverableError(describeDeadLetter(d));
      }
      await requeueClose(queues, d);
      logger.info({ jobId: job.id, sessionId: d.sessionId }, 'dead letter re-driven');
      return { redrivenAt: Date.now() };
    },
    { connection, prefix, concurrency: 4, removeOnComplete: { count: 0 }, removeOnFail: { count: 1_000_000 } },
  );
  worker.on('error', (err) => logger.debug({ err: err.message }, 'dead-letter processor error'));
  return {
    worker,
    close: () => worker.close(),
  };
}
