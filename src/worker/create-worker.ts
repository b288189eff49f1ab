import { Worker } from 'bullmq';
import type { BrowserbaseClient } from '../browserbase/index.js';
import type { Config } from '../config/index.js';
import { deadLetterResult } from '../dead-letters/letter.js';
import { startDeadLetterProcessor } from '../dead-letters/parking-worker.js';
import { moveFailedToDeadLetter, moveToDeadLetter } from '../dead-letters/store.js';
import { settleTakenLease } from '../leases/lease-store.js';
import { readJobLock } from '../shared/bullmq-keys.js';
import type { CloseJobData, CloseJobResult, DeadLetterData } from '../shared/jobs.js';
import type { Logger } from '../shared/logger.js';
import { accountKeyPrefix, closeQueueName, DEFAULT_ACCOUNT, keyPrefix } from '../shared/names.js';
import { COMPLETED_RETENTION, createQueues, type Queues } from '../shared/queues.js';
import { createRedis, type Redis, type RedisSettings } from '../shared/redis.js';
import { DEFAULT_BACKOFF_MAX_MS } from './backoff.js';
import { createCloseProcessor } from './close-processor.js';
import { WorkerEvents } from './events.js';
import { startHeartbeat, workerId } from './heartbeat.js';
import { createGlobalLimiter, type GlobalLimiter } from './limiter.js';
import type { MetricsSink, ResultsSink } from './sinks.js';

export interface CloseWorkerOptions {
  /** `prefix` is `BB_REAPER_PREFIX`: on a cluster (`redisCluster`) the keys live under its hash tag (`keyPrefix`). */
  config: RedisSettings & Pick<Config, 'prefix' | 'rate' | 'concurrency' | 'attempts' | 'backoffMs'>;
  client: BrowserbaseClient;
  logger: Logger;
  /** An ioredis connection (one server or a cluster) to use (kept open on close); default: one opened from the Redis settings. */
  connection?: Redis;
  metrics?: MetricsSink & { close?(): Promise<void> };
  results?: ResultsSink;
  /** Confirm each close by polling GET until terminal. Default false. */
  verify?: boolean;
  /** Jobs this process holds at once (most wait for a limiter slot). Default from rate and concurrency. */
  prefetch?: number;
  /** Cap of one backoff delay (ms). Default 60 000. */
  backoffMaxMs?: number;
  /** BullMQ lock duration (ms); a killed worker's jobs return after about this long. Default 30 000. */
  lockDurationMs?: number;
  /** How often stalled jobs are looked for (ms). Default 15 000. */
  stalledIntervalMs?: number;
  /** How often failed jobs left behind by a crash are moved to the DLQ (ms). Default 30 000. */
  deadLetterSweepMs?: number;
  /**
   * Lease of this process's share of the global concurrency (ms): the slots of a worker that died
   * come back this long after its last renewal (a live worker renews it 4 times a second). Keep it
   * above the longest request. Default `DEFAULT_SLOT_EXPIRATION_MS` (90 000).
   */
  slotExpirationMs?: number;
  /** Run the dead-letter queue processor in this process too. Default true. */
  deadLetterProcessor?: boolean;
  /**
   * The account whose queue (`close@<account>`) this worker drains, with its own limiter (its
   * `rate`/`concurrency` in `config`) and its own `client` (its key). Default `default`.
   */
  account?: string;
  /**
   * Heartbeat: the account names this process publishes as served (default `[account]`), or
   * false for none (a process running several close workers publishes once, for all).
   */
  heartbeat?: readonly string[] | false;
}

export interface CloseWorker {
  readonly events: WorkerEvents;
  readonly worker: Worker<CloseJobData, CloseJobResult>;
  readonly limiter: GlobalLimiter;
  readonly queues: Queues;
  /**
   * Stops: no new jobs are fetched, jobs still waiting for a limiter slot go back to the queue
   * unsent, and in-flight closes finish. `force: true` cancels in-flight requests too (they go
   * back to the queue).
   */
  close(opts?: { force?: boolean }): Promise<void>;
}

/** How many jobs one process holds: enough to keep the limiter busy, bounded. */
export function defaultPrefetch(rate: number, concurrency: number): number {
  return Math.min(1000, Math.max(10, concurrency * 2, Math.ceil(rate / 2)));
}

/**
 * Wires a close worker: BullMQ worker -> global limiter -> Browserbase client, with backoff
 * retries, the dead-letter move (and its crash backstop), the DLQ processor, and a heartbeat.
 */
export async function createCloseWorker(opts: CloseWorkerOptions): Promise<CloseWorker> {
  const { config, client } = opts;
  const account = opts.account ?? DEFAULT_ACCOUNT;
  const logger = account === DEFAULT_ACCOUNT ? opts.logger : opts.logger.child({ account });
  const connection = opts.connection ?? createRedis(config, { role: 'worker', name: 'bb-reaper:worker' });
  const ownsConnection = opts.connection === undefined;
  const prefix = keyPrefix(config);
  const queues = createQueues({ connection, prefix });
  const closeQueue = queues.closeQueueFor(account);
  const events = new WorkerEvents();
  // After a 429 every worker stops fetching until the pause ends, each on its own as it learns of
  // the pause (a local pause: a worker that dies meanwhile leaves nothing paused behind).
  let fetching: Worker<CloseJobData, CloseJobResult> | undefined = undefined;
  let holdUntil = 0;
  let resumeTimer: NodeJS.Timeout | undefined;
  let stopping = false;
  const holdFetching = (until: number) => {
    if (stopping || !fetching || until <= Math.max(holdUntil, Date.now())) return;
    holdUntil = until;
    const w = fetching;
    if (!w.isPaused()) void w.pause(true).catch(() => {});
    if (resumeTimer) clearTimeout(resumeTimer);
    resumeTimer = setTimeout(() => {
      resumeTimer = undefined;
      if (!stopping) void w.resume();
    }, until - Date.now());
    resumeTimer.unref();
  };
  let limiter: GlobalLimiter;
  try {
    limiter = await createGlobalLimiter({
      connection,
      prefix,
      account,
      rate: config.rate,
      concurrency: config.concurrency,
      logger,
      onPause: holdFetching,
      ...(opts.slotExpirationMs !== undefined ? { slotExpirationMs: opts.slotExpirationMs } : {}),
    });
  } catch (err) {
    // The limiter's first script failed (e.g. the ACL refused it): leave nothing open.
    await queues.close().catch(() => {});
    if (ownsConnection) connection.disconnect();
    throw err;
  }
  const processor = createCloseProcessor({
    client,
    limiter,
    logger,
    events,
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
    ...(opts.results ? { results: opts.results } : {}),
    pauseQueue: async (ms) => holdFetching(Date.now() + ms),
    attempts: config.attempts,
    backoffMs: config.backoffMs,
    backoffMaxMs: opts.backoffMaxMs ?? DEFAULT_BACKOFF_MAX_MS,
    verify: opts.verify ?? false,
    lockStillHeld: async (job, token) => (await readJobLock(connection, closeQueue, String(job.id))) === token,
    leases: { taken: (job) => settleTakenLease({ queue: closeQueue, redis: connection }, String(job.id)) },
    account,
    lockCheckAfterMs: Math.floor((opts.lockDurationMs ?? 30_000) / 3),
  });
  const worker = new Worker<CloseJobData, CloseJobResult>(closeQueueName(account), processor, {
    connection,
    prefix: accountKeyPrefix(prefix, account),
    concurrency: opts.prefetch ?? defaultPrefetch(config.rate, config.concurrency),
    // No BullMQ `limiter`: it would cost 3 Redis commands in every job's scripts (the pacing is the
    // global limiter's, the pause after a 429 is `holdFetching`'s).
    lockDuration: opts.lockDurationMs ?? 30_000,
    stalledInterval: opts.stalledIntervalMs ?? 15_000,
    // A close is idempotent: a job whose worker died is simply retried, several times if need be.
    maxStalledCount: 10,
    removeOnComplete: COMPLETED_RETENTION,
    removeOnFail: { count: 1_000_000 },
    autorun: false,
  });

  // Every dead letter is recorded here, whichever path moved it (on failure, or the backstop
  // sweep after a crash): one result entry (written once per run of the job), one count, one line.
  const recordDeadLetter = async (letter: DeadLetterData) => {
    await opts.results?.append(deadLetterResult(letter));
    opts.metrics?.closeOutcome('dead_lettered');
    logger.warn({ jobId: letter.sourceJobId, sessionId: letter.sessionId, code: letter.errorCode, httpStatus: letter.httpStatus, attempts: letter.attemptsMade }, 'close dead-lettered');
    events.emit('dead-lettered', letter);
  };
  worker.on('failed', (job) => {
    if (!job) return;
    moveToDeadLetter(queues, job, recordDeadLetter).catch((err: Error) => logger.warn({ jobId: job.id, err: err.message }, 'dead-letter move failed; the backstop sweep will retry it'));
  });
  worker.on('error', (err) => logger.warn({ err: err.message }, 'worker error'));
  worker.on('stalled', (jobId) => logger.warn({ jobId }, 'job stalled (its worker died?); it will be retried'));

  const sweepFailed = () => moveFailedToDeadLetter(queues, { onMoved: recordDeadLetter, accounts: [account] });
  const sweepTimer = setInterval(() => void sweepFailed().catch(() => {}), opts.deadLetterSweepMs ?? 30_000);
  sweepTimer.unref();
  await sweepFailed().catch((err: Error) => logger.warn({ err: err.message }, 'initial dead-letter sweep failed'));

  const dlqProcessor = opts.deadLetterProcessor === false ? undefined : startDeadLetterProcessor({ connection, prefix, logger, queues });
  const heartbeat = opts.heartbeat === false ? undefined : startHeartbeat(connection, prefix, workerId(), opts.heartbeat ?? [account]);
  void worker.run().catch((err: Error) => logger.error({ err: err.message }, 'worker stopped unexpectedly'));
  fetching = worker;
  holdFetching(limiter.pausedUntil()); // started during a pause
  logger.info({ rate: config.rate, concurrency: config.concurrency, attempts: config.attempts, prefix }, 'close worker started');

  let closing: Promise<void> | undefined;
  return {
    events,
    worker,
    limiter,
    queues,
    close({ force = false } = {}) {
      if (closing) {
        // Already stopping: a forced close only cancels what is still in flight.
        if (force) {
          worker.cancelAllJobs('shutdown forced');
          void worker.close(true).catch(() => {});
        }
        return closing;
      }
      closing = (async () => {
        clearInterval(sweepTimer);
        stopping = true;
        if (resumeTimer) clearTimeout(resumeTimer);
        logger.info({ queued: limiter.queued() }, 'stopping: no new jobs; returning unsent jobs to the queue; finishing in-flight closes');
        const done = worker.close(force);
        if (force) worker.cancelAllJobs('shutdown forced');
        await limiter.stop();
        await done;
        await dlqProcessor?.close();
        await heartbeat?.stop();
        await limiter.close();
        await opts.metrics?.close?.();
        await queues.close();
        if (ownsConnection) await connection.quit().catch(() => connection.disconnect());
        logger.info('worker stopped');
      })();
      return closing;
    },
  };
}
