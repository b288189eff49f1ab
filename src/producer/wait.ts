import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { CloseJobResult, DeadLetterData } from '../shared/jobs.js';
import type { Queues } from '../shared/queues.js';

/** How one close ended, as seen by {@link waitForCloses}. */
export type CloseFinalState = 'closed' | 'already_gone' | 'dead_lettered';

export interface WaitProgress {
  /** Distinct close jobs being followed. */
  total: number;
  /** Released (`closed` or `verified`), or completed and already removed by retention. */
  closed: number;
  /** The session was already gone (404, or terminal on a follow-up GET). */
  alreadyGone: number;
  /** Failed for good: moved to the dead-letter queue (or left failed in the close queue). */
  deadLettered: number;
  /** Not final yet. */
  pending: number;
}

/** One dead-lettered close, for the summary. */
export interface DeadLetterSummary {
  jobId: string;
  sessionId?: string;
  /** Code of the final error (`REJECTED`, `TRANSIENT`, ...), when the dead letter carries one. */
  errorCode?: string;
  httpStatus?: number;
  message: string;
}

export interface WaitReport extends WaitProgress {
  /** The first `maxDeadLettersReported` dead letters, in the order they were seen. */
  deadLetters: DeadLetterSummary[];
  /** True when `signal` stopped the wait before every job was final (`pending` > 0). */
  aborted: boolean;
}

export interface WaitOptions {
  /** Called after every polling pass (and once at the end) with the counts so far. */
  onProgress?: (p: WaitProgress) => void;
  /** Pause between two polling passes over the pending jobs, in ms. Default 250. */
  pollMs?: number;
  /** Jobs read per pipelined round trip. Default 500. */
  batchSize?: number;
  /** Stops waiting; the report then has `aborted: true` and the pending count. */
  signal?: AbortSignal;
  /** Dead letters kept in the report (all are counted). Default 1000. */
  maxDeadLettersReported?: number;
}

interface Tracked {
  /** Consecutive passes with neither a close job nor a dead letter. */
  missing: number;
  /** Passes that saw the close job in the `failed` set. */
  failed: number;
}

/**
 * Follows close jobs until each is final: completed (closed / already gone) or dead-lettered.
 * Polls job states in batches with pipelined reads and never changes anything. Rules:
 * - a close job in the `completed` set is done, with the outcome of its return value;
 * - a close job in the `failed` set failed for good: it is counted as dead-lettered when it is
 *   still there on the next pass (the worker normally moves it to the dead-letter queue at once);
 * - a missing close job with a dead letter of the same id (job id = source job id) was
 *   dead-lettered, unless that letter was parked before and is back in `waiting`/`active`: then
 *   it is being re-driven and a fresh close job with the same id is about to appear (pending);
 * - a missing close job without a dead letter, on two passes in a row, was completed and removed
 *   by retention (the second look covers a re-drive between "letter removed" and "close added").
 * A parked letter beside a missing close job always counts as dead-lettered, even when it is older
 * than the close being followed: reporting a possible failure beats reporting a false success.
 */
export async function waitForCloses(
  { queues, redis }: { queues: Pick<Queues, 'closeQueue' | 'deadLetterQueue'>; redis: Redis },
  jobIds: Iterable<string>,
  opts: WaitOptions = {},
): Promise<WaitReport> {
  const pollMs = opts.pollMs ?? 250;
  const batchSize = opts.batchSize ?? 500;
  const maxReported = opts.maxDeadLettersReported ?? 1000;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new TypeError(`Expected \`batchSize\` to be a positive integer, got \`${batchSize}\``);
  if (!Number.isFinite(pollMs) || pollMs < 0) throw new TypeError(`Expected \`pollMs\` to be a number of ms ≥ 0, got \`${pollMs}\``);

  const tracked = new Map<string, Tracked>();
  for (const id of jobIds) if (!tracked.has(id)) tracked.set(id, { missing: 0, failed: 0 });
  let pending = [...tracked.keys()];
  const report: WaitReport = { total: tracked.size, closed: 0, alreadyGone: 0, deadLettered: 0, pending: pending.length, deadLetters: [], aborted: false };
  const finish = (state: CloseFinalState, letter?: DeadLetterSummary) => {
    if (state === 'closed') report.closed++;
    else if (state === 'already_gone') report.alreadyGone++;
    else {
      report.deadLettered++;
      if (letter && report.deadLetters.length < maxReported) report.deadLetters.push(letter);
    }
  };
  const progress = () => opts.onProgress?.({ total: report.total, closed: report.closed, alreadyGone: report.alreadyGone, deadLettered: report.deadLettered, pending: report.pending });

  while (pending.length > 0) {
    const next: string[] = [];
    for (let i = 0; i < pending.length; i += batchSize) {
      const batch = pending.slice(i, i + batchSize);
      const states = await readStates(queues, redis, batch);
      batch.forEach((id, j) => {
        const s = states[j] as JobState;
        const t = tracked.get(id) as Tracked;
        const verdict = judge(id, s, t);
        if (verdict === undefined) next.push(id);
        else {
          finish(verdict.state, verdict.letter);
          tracked.delete(id);
        }
      });
    }
    pending = next;
    report.pending = pending.length;
    progress();
    if (pending.length === 0) break;
    if (opts.signal?.aborted) break;
    try {
      await sleep(pollMs, undefined, { signal: opts.signal });
    } catch {
      break;
    }
  }
  report.aborted = pending.length > 0;
  return report;
}

interface JobState {
  closeTimestamp: string | null;
  returnValue: string | null;
  failedReason: string | null;
  inCompleted: boolean;
  inFailed: boolean;
  letterFailed: boolean;
  letterExists: boolean;
  letterData: string | null;
  letterReason: string | null;
}

/** Reads what decides the state of each job: one pipelined round trip per batch. */
async function readStates(queues: Pick<Queues, 'closeQueue' | 'deadLetterQueue'>, redis: Redis, ids: string[]): Promise<JobState[]> {
  const { closeQueue, deadLetterQueue } = queues;
  const pipeline = redis.pipeline();
  for (const id of ids) {
    pipeline.hmget(closeQueue.toKey(id), 'timestamp', 'returnvalue', 'failedReason');
    pipeline.zscore(closeQueue.keys.completed as string, id);
    pipeline.zscore(closeQueue.keys.failed as string, id);
    pipeline.zscore(deadLetterQueue.keys.failed as string, id);
    // Data only matters for a parked dead letter; reading it for all keeps it to one round trip.
    pipeline.hmget(deadLetterQueue.toKey(id), 'timestamp', 'data', 'failedReason');
  }
  const results = (await pipeline.exec()) ?? [];
  const value = (k: number): unknown => {
    const [err, v] = results[k] ?? [new Error('missing pipeline reply'), null];
    if (err) throw err;
    return v;
  };
  return ids.map((_, i) => {
    const base = i * 5;
    const [closeTimestamp, returnValue, failedReason] = value(base) as Array<string | null>;
    const [letterTimestamp, letterData, letterReason] = value(base + 4) as Array<string | null>;
    return {
      closeTimestamp: closeTimestamp ?? null,
      returnValue: returnValue ?? null,
      failedReason: failedReason ?? null,
      inCompleted: value(base + 1) !== null,
      inFailed: value(base + 2) !== null,
      letterFailed: value(base + 3) !== null,
      letterExists: letterTimestamp !== null && letterTimestamp !== undefined,
      letterData: letterData ?? null,
      letterReason: letterReason ?? null,
    };
  });
}

function judge(id: string, s: JobState, t: Tracked): { state: CloseFinalState; letter?: DeadLetterSummary } | undefined {
  if (s.closeTimestamp !== null) {
    t.missing = 0;
    if (s.inCompleted) return { state: outcomeOf(s.returnValue) };
    if (s.inFailed) {
      // Usually moved to the dead-letter queue a moment later (with its details): look once more.
      t.failed++;
      return t.failed >= 2 ? { state: 'dead_lettered', letter: { jobId: id, ...sessionOf(id), message: s.failedReason ?? 'failed' } } : undefined;
    }
    return undefined;
  }
  if (s.letterExists) {
    const data = parseJson<Partial<DeadLetterData>>(s.letterData);
    // Parked (failed), or just moved there and not parked yet: this close failed for good.
    if (s.letterFailed || data?.parkedAt === undefined) return { state: 'dead_lettered', letter: summarizeLetter(id, data, s.letterReason) };
    // A parked letter back in `waiting`/`active` is being re-driven: a fresh close job with this
    // id is about to appear.
    t.missing = 0;
    return undefined;
  }
  t.missing++;
  return t.missing >= 2 ? { state: 'closed' } : undefined;
}

function outcomeOf(returnValue: string | null): CloseFinalState {
  const r = parseJson<Partial<CloseJobResult>>(returnValue);
  return r?.outcome === 'already_gone' ? 'already_gone' : 'closed';
}

function summarizeLetter(jobId: string, data: Partial<DeadLetterData> | undefined, failedReason: string | null): DeadLetterSummary {
  const out: DeadLetterSummary = { jobId, ...sessionOf(jobId), message: data?.message ?? failedReason ?? 'dead-lettered' };
  if (typeof data?.sessionId === 'string') out.sessionId = data.sessionId;
  if (typeof data?.errorCode === 'string') out.errorCode = data.errorCode;
  if (typeof data?.httpStatus === 'number') out.httpStatus = data.httpStatus;
  return out;
}

/** The session id inside a close job id (`close-` + percent-encoded id), when it is one. */
function sessionOf(jobId: string): { sessionId?: string } {
  if (!jobId.startsWith('close-')) return {};
  try {
    return { sessionId: decodeURIComponent(jobId.slice('close-'.length)) };
  } catch {
    return {};
  }
}

function parseJson<T>(s: string | null): T | undefined {
  if (s === null) return undefined;
  try {
    return JSON.parse(s) as T;
  } catch {
    return undefined;
  }
}
