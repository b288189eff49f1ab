/**
 * The dead-letter store: the one place that moves closes into the dead-letter queue (the worker's
 * side) and lists, counts, re-drives and purges them (the operator's side: `bb-reaper dlq`, the
 * UI's ops API and the library call these). Which states hold dead letters is defined once,
 * {@link DEAD_LETTER_STATES}; every function here uses that list.
 *
 * A letter the DLQ processor holds at this moment (`active`: being parked, or re-driven after a
 * Retry) cannot be removed; re-drive and purge retry it after a short pause, for at most
 * `settleMs`, and report what they had to leave.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Job, Queue } from 'bullmq';
import type { CloseJobData, DeadLetterData } from '../shared/jobs.js';
import { CLOSE_JOB_NAME, DEAD_LETTER_JOB_NAME, DEFAULT_ACCOUNT } from '../shared/names.js';
import { DEAD_LETTER_STATES, type DeadLetterState, type Queues } from '../shared/queues.js';
import { listJobIdsInStates } from '../shared/bullmq-keys.js';
import { buildDeadLetter, redriveData, sameFailure } from './letter.js';

export { DEAD_LETTER_STATES, type DeadLetterState };

type DlqQueues = Pick<Queues, 'closeQueue' | 'closeQueueFor' | 'closeQueueOf' | 'deadLetterQueue'>;

/** How long re-drive and purge wait at most for letters the DLQ processor holds, ms. */
export const DEFAULT_SETTLE_MS = 5_000;
/** Pause between two tries at a held letter, ms. */
const SETTLE_POLL_MS = 100;
/** Letters read per page by `redriveDeadLetters({ all: true })` (per state). */
const PAGE_SIZE = 500;

/** Called with a letter once it is in the DLQ and before its close job is removed (see {@link moveToDeadLetter}). */
export type OnDeadLettered = (letter: DeadLetterData) => Promise<void>;

/**
 * Moves a close job that failed for good to the dead-letter queue, then removes it from the close
 * queue. Idempotent (the dead letter's id is the close job's id), so it is safe to repeat after a
 * crash at any point: the backstop sweep ({@link moveFailedToDeadLetter}) finds what was left
 * behind. `onMoved` (recording the result) runs before the close job is removed, so a crash in
 * between repeats it instead of losing it: it must be idempotent (the results writer is).
 * Returns the dead letter, or undefined when the job was no longer in the failed state.
 */
export async function moveToDeadLetter(queues: DlqQueues, job: Job<CloseJobData>, onMoved?: OnDeadLettered): Promise<DeadLetterData | undefined> {
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
  await onMoved?.(letter);
  await job.remove();
  return letter;
}

/** Backstop: moves every close job still in the failed state to the DLQ. Returns the letters moved. */
export async function moveFailedToDeadLetter(
  queues: DlqQueues,
  { pageSize = 500, onMoved, accounts = [DEFAULT_ACCOUNT] }: { pageSize?: number; onMoved?: OnDeadLettered; accounts?: readonly string[] } = {},
): Promise<DeadLetterData[]> {
  const moved: DeadLetterData[] = [];
  for (const account of accounts) moved.push(...(await moveFailedOf(queues, queues.closeQueueFor(account), pageSize, onMoved)));
  return moved;
}

async function moveFailedOf(queues: DlqQueues, closeQueue: Queue<CloseJobData>, pageSize: number, onMoved: OnDeadLettered | undefined): Promise<DeadLetterData[]> {
  const moved: DeadLetterData[] = [];
  for (;;) {
    const failed = await closeQueue.getFailed(0, pageSize - 1);
    if (failed.length === 0) return moved;
    let progress = 0;
    for (const job of failed) {
      if (!job) continue;
      try {
        const letter = await moveToDeadLetter(queues, job, onMoved);
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
  /** The state it was listed in, one of {@link DEAD_LETTER_STATES}. */
  state: string;
  data: DeadLetterData;
  failedReason?: string;
}

/** How many dead letters there are: the DLQ in every one of {@link DEAD_LETTER_STATES}. */
export async function countDeadLetters(queues: Pick<Queues, 'deadLetterQueue'>): Promise<number> {
  return queues.deadLetterQueue.getJobCountByTypes(...DEAD_LETTER_STATES);
}

/**
 * Dead letters `start` to `end` (0-based, inclusive) of one listing: the states in the order of
 * {@link DEAD_LETTER_STATES}, newest first within each, with the total of the same listing. With
 * the queues' connection the ids and the total are read in one atomic step, so pages add up to
 * the count while letters move between states (a letter being parked); without, state by state.
 */
export async function readDeadLetters(queues: Pick<Queues, 'deadLetterQueue' | 'connection'>, { start = 0, end = 99 }: { start?: number; end?: number } = {}): Promise<{ total: number; entries: DeadLetterEntry[] }> {
  const dlq = queues.deadLetterQueue;
  const listing = queues.connection ? await listJobIdsInStates(queues.connection, dlq, DEAD_LETTER_STATES, { start, end }) : await listStateByState(dlq, start, end);
  if (end < start) return { total: listing.total, entries: [] };
  const jobs = await Promise.all(listing.jobs.map(({ id }) => dlq.getJob(id)));
  const entries: DeadLetterEntry[] = [];
  const seen = new Set<string>();
  listing.jobs.forEach(({ state }, i) => {
    const job = jobs[i];
    // Removed since (re-driven, purged), or seen twice while it moved: left out.
    if (!job?.id || seen.has(job.id)) return;
    seen.add(job.id);
    entries.push({ id: job.id, state, data: job.data, ...(job.failedReason ? { failedReason: job.failedReason } : {}) });
  });
  return { total: listing.total, entries };
}

/** {@link readDeadLetters}, the entries only. */
export async function listDeadLetters(queues: Pick<Queues, 'deadLetterQueue' | 'connection'>, range: { start?: number; end?: number } = {}): Promise<DeadLetterEntry[]> {
  return (await readDeadLetters(queues, range)).entries;
}

/** The same listing through BullMQ's getters: counts first, then each state's part (not atomic). */
async function listStateByState(dlq: Queues['deadLetterQueue'], start: number, end: number): Promise<{ total: number; jobs: Array<{ id: string; state: DeadLetterState }> }> {
  const counts = await dlq.getJobCounts(...DEAD_LETTER_STATES);
  const jobs: Array<{ id: string; state: DeadLetterState }> = [];
  let first = 0; // index of this state's first letter in the listing
  for (const state of DEAD_LETTER_STATES) {
    const n = counts[state] ?? 0;
    const from = Math.max(start, first);
    const to = Math.min(end, first + n - 1);
    if (from <= to) for (const job of await dlq.getJobs([state], from - first, to - first, false)) if (job?.id) jobs.push({ id: job.id, state });
    first += n;
  }
  return { total: first, jobs };
}

/** Puts one dead letter's close back on the close queue with fresh attempts (history kept). */
export async function requeueClose(queues: Pick<Queues, 'closeQueue' | 'closeQueueOf'>, letter: unknown): Promise<void> {
  const sourceJobId = (letter as Partial<DeadLetterData> | null)?.sourceJobId;
  // back to its account's queue (the job id names it)
  const queue = typeof sourceJobId === 'string' ? queues.closeQueueOf(sourceJobId) : queues.closeQueue;
  await queue.add(CLOSE_JOB_NAME, redriveData(letter), typeof sourceJobId === 'string' ? { jobId: sourceJobId } : {});
}

/**
 * Re-drives one letter: its close goes back first, then the letter is removed (a crash in between
 * leaves both: nothing is lost). False when the DLQ processor holds the letter right now.
 */
async function redriveLetter(queues: DlqQueues, job: Job<DeadLetterData>): Promise<boolean> {
  if ((await job.getState()) === 'active') return false;
  await requeueClose(queues, job.data);
  try {
    await job.remove();
  } catch (err) {
    // Taken by the DLQ processor in between: the close is back already; the letter goes next try.
    if ((await job.getState()) === 'active') return false;
    throw err;
  }
  return true;
}

export interface RedriveReport {
  /** Letters whose close is back on the close queue. */
  redriven: string[];
  /** Ids that were not dead letters. */
  missing: string[];
  /** Letters the DLQ processor still held after `settleMs` (left as they are); only when some were. */
  held?: string[];
}

/**
 * Re-drives dead letters directly (no worker needed): each close goes back on the close queue
 * with fresh attempts, then its dead letter is removed. `all` re-drives every letter there is
 * when it starts (a letter that fails again meanwhile is not re-driven twice). A letter the DLQ
 * processor is parking right now is retried once it is parked, for at most `settleMs`.
 */
export async function redriveDeadLetters(
  queues: DlqQueues,
  { ids, all = false, settleMs = DEFAULT_SETTLE_MS }: { ids?: string[]; all?: boolean; settleMs?: number },
): Promise<RedriveReport> {
  const redriven: string[] = [];
  const missing: string[] = [];
  const deadline = Date.now() + settleMs;
  let held: string[] = [];
  if (all) {
    const done = new Set<string>();
    for (;;) {
      const page = await queues.deadLetterQueue.getJobs([...DEAD_LETTER_STATES], 0, PAGE_SIZE - 1, true);
      held = [];
      let progress = 0;
      for (const job of page) {
        if (!job?.id || done.has(job.id)) continue;
        if (await redriveLetter(queues, job)) {
          done.add(job.id);
          redriven.push(job.id);
          progress++;
        } else held.push(job.id);
      }
      if (progress > 0) continue;
      if (held.length === 0 || Date.now() >= deadline) break;
      await sleep(SETTLE_POLL_MS);
    }
  } else {
    let pending = [...new Set(ids ?? [])];
    for (let round = 0; ; round++) {
      held = [];
      for (const id of pending) {
        const job = await queues.deadLetterQueue.getJob(id);
        // Gone while we waited for it: the DLQ processor re-drove it (a Retry in the UI).
        if (!job) (round === 0 ? missing : redriven).push(id);
        else if (await redriveLetter(queues, job)) redriven.push(id);
        else held.push(id);
      }
      if (held.length === 0 || Date.now() >= deadline) break;
      pending = held;
      await sleep(SETTLE_POLL_MS);
    }
  }
  return { redriven, missing, ...(held.length > 0 ? { held } : {}) };
}

/**
 * Deletes every dead letter (every one of {@link DEAD_LETTER_STATES}). A letter the DLQ processor
 * holds right now is deleted once it is parked, waiting at most `settleMs`. Returns how many.
 */
export async function purgeDeadLetters(queues: Pick<Queues, 'deadLetterQueue'>, { settleMs = DEFAULT_SETTLE_MS }: { settleMs?: number } = {}): Promise<number> {
  const deadline = Date.now() + settleMs;
  let n = 0;
  for (;;) {
    for (const state of DEAD_LETTER_STATES) {
      for (;;) {
        // Never a held (locked) letter: BullMQ's clean skips those.
        const removed = await queues.deadLetterQueue.clean(0, 1000, state);
        n += removed.length;
        if (removed.length === 0) break;
      }
    }
    if ((await countDeadLetters(queues)) === 0 || Date.now() >= deadline) return n;
    await sleep(SETTLE_POLL_MS);
  }
}
