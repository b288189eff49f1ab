import { UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from '../shared/redis.js';
import type { BrowserbaseClient } from '../browserbase/index.js';
import type { Logger } from '../shared/logger.js';
import { createQueues } from '../shared/queues.js';
import { runSweep } from './run-sweep.js';
import { accountKeyPrefix, DEFAULT_ACCOUNT, sweepQueueName } from '../shared/names.js';
import type { SweepJobData } from './scheduler.js';

export interface SweepProcessorOptions {
  /** A worker-role ioredis connection (`maxRetriesPerRequest: null`); the caller keeps owning it. */
  connection: Redis;
  /** Key prefix (`BB_REAPER_PREFIX`). */
  prefix: string;
  /** The Browserbase client that lists sessions (the worker's, with the account's API key). */
  client: BrowserbaseClient;
  /** The account whose sweeps this runs (its sweep queue) and whose closes they enqueue. Default `default`. */
  account?: string;
  logger: Logger;
}

/** What a completed sweep job returns (shown in the queue UI). */
export interface SweepJobResult {
  scanned: number;
  orphans: number;
  accepted: number;
  duplicates: number;
  skippedKeepAlive: number;
  skippedYoung: number;
}

export interface SweepProcessor {
  readonly worker: Worker<SweepJobData, SweepJobResult>;
  /** Stops taking sweep jobs and waits for a running sweep to finish. */
  close(): Promise<void>;
}

/**
 * Runs scheduled orphan sweeps (registered with `bb-reaper sweep --every`): each job lists the
 * active sessions with `client`, selects orphans with the job's parameters and enqueues their
 * closes (source `sweep`). One sweep at a time per process; closes are idempotent, so two
 * processes sweeping at once only produce duplicates, which are no-ops.
 */
export function startSweepProcessor({ connection, prefix, client, account = DEFAULT_ACCOUNT, logger }: SweepProcessorOptions): SweepProcessor {
  const queues = createQueues({ connection, prefix });
  const log = logger.child({ component: 'sweep', ...(account !== DEFAULT_ACCOUNT ? { account } : {}) });
  const worker = new Worker<SweepJobData, SweepJobResult>(
    sweepQueueName(account),
    async (job, _token, signal) => {
      const params = parseSweepJobData(job.data);
      const r = await runSweep({ client, target: { queues, redis: connection }, params, account, ...(signal ? { signal } : {}) });
      const result: SweepJobResult = {
        scanned: r.scanned,
        orphans: r.orphans.length,
        accepted: r.enqueued?.accepted ?? 0,
        duplicates: r.enqueued?.duplicates ?? 0,
        skippedKeepAlive: r.skippedKeepAlive,
        skippedYoung: r.skippedYoung,
      };
      log.info({ jobId: job.id, ...result, olderThanMs: job.data.olderThanMs, q: job.data.q }, 'orphan sweep done');
      return result;
    },
    { connection, prefix: accountKeyPrefix(prefix, account), concurrency: 1, removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
  );
  worker.on('failed', (job, err) => log.warn({ jobId: job?.id, err: err.message, code: (err as { code?: string }).code }, 'orphan sweep failed; the next run will try again'));
  worker.on('error', (err) => log.warn({ err: err.message }, 'sweep processor error'));
  return {
    worker,
    async close() {
      await worker.close();
      await queues.close();
    },
  };
}

/** Checks a sweep job's data (it may have been written by hand or by another tool). */
export function parseSweepJobData(raw: unknown): SweepJobData {
  const d = (raw ?? {}) as Record<string, unknown>;
  if (typeof d.olderThanMs !== 'number' || !Number.isFinite(d.olderThanMs) || d.olderThanMs < 1) {
    throw new UnrecoverableError(`invalid sweep job: \`olderThanMs\` must be a number of ms ≥ 1, got \`${String(d.olderThanMs)}\``);
  }
  if (d.q !== undefined && (typeof d.q !== 'string' || d.q.length > 1024)) throw new UnrecoverableError('invalid sweep job: `q` must be a string of at most 1024 characters');
  if (d.includeKeepAlive !== undefined && typeof d.includeKeepAlive !== 'boolean') throw new UnrecoverableError('invalid sweep job: `includeKeepAlive` must be a boolean');
  return { olderThanMs: d.olderThanMs, ...(d.q ? { q: d.q } : {}), ...(d.includeKeepAlive ? { includeKeepAlive: true } : {}) };
}
