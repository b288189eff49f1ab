/**
 * The one close-status reader: where a close job is in its life, close queue and dead-letter
 * queue together, read for many jobs in one pipelined round trip per batch, never changing
 * anything. It knows the dead-letter lifecycle (a letter's id is its close job's id; a new letter
 * is `waiting`, a parked one `failed`, a parked one back in `waiting`/`active` is being re-driven)
 * and reads BullMQ's hashes through the adapter in `shared/bullmq-keys.ts`.
 */
import type { Redis } from '../shared/redis.js';
import { pipeInFinishedState, pipeJobFields } from '../shared/bullmq-keys.js';
import type { CloseJobResult, CompletedOutcome, DeadLetterData } from '../shared/jobs.js';
import { parseCloseJobId } from '../shared/names.js';
import type { Queues } from '../shared/queues.js';

/** One dead-lettered close, for a summary. */
export interface DeadLetterSummary {
  jobId: string;
  sessionId?: string;
  /** Code of the final error (`REJECTED`, `TRANSIENT`, ...), when the dead letter carries one. */
  errorCode?: string;
  httpStatus?: number;
  message: string;
}

/** Where one close job is now. */
export type CloseStatus =
  /** The close job exists and is not finished (waiting, delayed, active). */
  | { kind: 'pending' }
  /** Completed, with the outcome of its return value (`closed` when it cannot be read). */
  | { kind: 'completed'; outcome: CompletedOutcome }
  /** Failed for good and still in the close queue: the worker moves it to the DLQ a moment later. */
  | { kind: 'failed'; letter: DeadLetterSummary }
  /** In the dead-letter queue: parked, or moved there and not parked yet. */
  | { kind: 'dead_lettered'; letter: DeadLetterSummary }
  /** A parked letter back in `waiting`/`active`: being re-driven, a fresh close job is about to appear. */
  | { kind: 'redriving' }
  /** Neither a close job nor a letter: completed and removed by retention, or between the two steps of a re-drive. */
  | { kind: 'missing' };

export type CloseStatusSources = { queues: Pick<Queues, 'closeQueueOf' | 'deadLetterQueue'>; redis: Redis };

/** Replies read per job: close hash, in completed, in failed, letter in failed, letter hash. */
const READS_PER_JOB = 5;

/**
 * The status of each close job id, in order: one pipelined round trip per hash tag (the
 * dead-letter queue's, and each account's close queue: on a Redis Cluster a pipeline may touch
 * one slot only), sent together.
 */
export async function readCloseStatuses({ queues, redis }: CloseStatusSources, ids: readonly string[]): Promise<CloseStatus[]> {
  const { deadLetterQueue } = queues;
  type Pipe = ReturnType<Redis['pipeline']>;
  const pipes = new Map<string, { pipeline: Pipe; count: number }>();
  /** Where each reply is: [pipe, index], READS_PER_JOB per id. */
  const at: Array<[string, number]> = [];
  const read = (prefix: string, add: (p: Pipe) => void) => {
    let entry = pipes.get(prefix);
    if (!entry) pipes.set(prefix, (entry = { pipeline: redis.pipeline(), count: 0 }));
    add(entry.pipeline);
    at.push([prefix, entry.count++]);
  };
  const dlqPrefix = deadLetterQueue.opts.prefix ?? 'bull';
  for (const id of ids) {
    // the queue of the id's account (`close` for `default`, `close@<account>` for another)
    const closeQueue = queues.closeQueueOf(id);
    const closePrefix = closeQueue.opts.prefix ?? 'bull';
    read(closePrefix, (p) => pipeJobFields(p, closeQueue, id, ['timestamp', 'returnValue', 'failedReason']));
    read(closePrefix, (p) => pipeInFinishedState(p, closeQueue, id, 'completed'));
    read(closePrefix, (p) => pipeInFinishedState(p, closeQueue, id, 'failed'));
    read(dlqPrefix, (p) => pipeInFinishedState(p, deadLetterQueue, id, 'failed'));
    // Data only matters for a parked dead letter; reading it for all keeps it to one round trip.
    read(dlqPrefix, (p) => pipeJobFields(p, deadLetterQueue, id, ['timestamp', 'data', 'failedReason']));
  }
  const results = new Map(await Promise.all([...pipes].map(async ([prefix, { pipeline }]) => [prefix, (await pipeline.exec()) ?? []] as const)));
  const reply = (k: number): unknown => {
    const [prefix, index] = at[k] ?? ['', -1];
    const [err, v] = results.get(prefix)?.[index] ?? [new Error('missing pipeline reply'), null];
    if (err) throw err;
    return v;
  };
  return ids.map((id, i) => {
    const base = i * READS_PER_JOB;
    const [closeTimestamp = null, returnValue = null, failedReason = null] = reply(base) as Array<string | null>;
    const [letterTimestamp = null, letterData = null, letterReason = null] = reply(base + 4) as Array<string | null>;
    if (closeTimestamp !== null) {
      if (reply(base + 1) !== null) return { kind: 'completed', outcome: outcomeOf(returnValue) };
      if (reply(base + 2) !== null) return { kind: 'failed', letter: { jobId: id, ...sessionOf(id), message: failedReason ?? 'failed' } };
      return { kind: 'pending' };
    }
    if (letterTimestamp !== null) {
      const data = parseJson<Partial<DeadLetterData>>(letterData);
      // Parked (failed), or just moved there and not parked yet: this close failed for good.
      if (reply(base + 3) !== null || data?.parkedAt === undefined) return { kind: 'dead_lettered', letter: summarizeLetter(id, data, letterReason) };
      return { kind: 'redriving' };
    }
    return { kind: 'missing' };
  });
}

function outcomeOf(returnValue: string | null): CompletedOutcome {
  const outcome = parseJson<Partial<CloseJobResult>>(returnValue)?.outcome;
  return outcome === 'already_gone' || outcome === 'verified' ? outcome : 'closed';
}

function summarizeLetter(jobId: string, data: Partial<DeadLetterData> | undefined, failedReason: string | null): DeadLetterSummary {
  const out: DeadLetterSummary = { jobId, ...sessionOf(jobId), message: typeof data?.message === 'string' ? data.message : (failedReason ?? 'dead-lettered') };
  if (typeof data?.sessionId === 'string') out.sessionId = data.sessionId;
  if (typeof data?.errorCode === 'string') out.errorCode = data.errorCode;
  if (typeof data?.httpStatus === 'number') out.httpStatus = data.httpStatus;
  return out;
}

const sessionOf = (jobId: string): { sessionId?: string } => {
  const sessionId = parseCloseJobId(jobId);
  return sessionId === undefined ? {} : { sessionId };
};

function parseJson<T>(s: string | null): T | undefined {
  if (s === null) return undefined;
  try {
    const v: unknown = JSON.parse(s);
    return v !== null && typeof v === 'object' ? (v as T) : undefined;
  } catch {
    return undefined;
  }
}
