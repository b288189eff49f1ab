import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from '../shared/redis.js';
import { readCloseStatuses, type CloseStatus, type DeadLetterSummary } from '../dead-letters/close-status.js';
import type { FinalOutcome } from '../shared/jobs.js';
import type { Queues } from '../shared/queues.js';

export type { DeadLetterSummary };

/** How one close ended, as seen by {@link waitForCloses} (`verified` counts as `closed`). */
export type CloseFinalState = Exclude<FinalOutcome, 'verified'>;

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
 * Polls with the close-status reader (`dead-letters/close-status.ts`, pipelined, read-only) and
 * decides with these rules:
 * - a completed close job is done, with the outcome of its return value;
 * - a close job failed for good is counted as dead-lettered when it is still failed on the next
 *   pass (the worker normally moves it to the dead-letter queue at once, with its details);
 * - a dead letter beside a missing close job was dead-lettered; a parked letter being re-driven
 *   is pending (a fresh close job with the same id is about to appear);
 * - neither a close job nor a letter, on two passes in a row: completed and removed by retention
 *   (the second look covers a re-drive between "letter removed" and "close added").
 * A parked letter beside a missing close job always counts as dead-lettered, even when it is older
 * than the close being followed: reporting a possible failure beats reporting a false success.
 */
export async function waitForCloses(
  { queues, redis }: { queues: Pick<Queues, 'closeQueueOf' | 'deadLetterQueue'>; redis: Redis },
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
      const statuses = await readCloseStatuses({ queues, redis }, batch);
      batch.forEach((id, j) => {
        const verdict = judge(statuses[j] as CloseStatus, tracked.get(id) as Tracked);
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

/** The final state a status shows, or undefined while the close is not final (or not confirmed yet). */
function judge(s: CloseStatus, t: Tracked): { state: CloseFinalState; letter?: DeadLetterSummary } | undefined {
  if (s.kind !== 'missing') t.missing = 0;
  switch (s.kind) {
    case 'completed':
      return { state: s.outcome === 'already_gone' ? 'already_gone' : 'closed' };
    case 'failed':
      t.failed++;
      return t.failed >= 2 ? { state: 'dead_lettered', letter: s.letter } : undefined;
    case 'dead_lettered':
      return { state: 'dead_lettered', letter: s.letter };
    case 'missing':
      t.missing++;
      return t.missing >= 2 ? { state: 'closed' } : undefined;
    default:
      return undefined;
  }
}
