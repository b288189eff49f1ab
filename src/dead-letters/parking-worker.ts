import { UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from '../shared/redis.js';
import { CLOSE_JOB_LIMITS, type DeadLetterData } from '../shared/jobs.js';
import type { Logger } from '../shared/logger.js';
import { DEAD_LETTER_QUEUE } from '../shared/names.js';
import type { Queues } from '../shared/queues.js';
import { describeAttemptLine, describeDeadLetter } from './describe.js';
import { asObject } from './letter.js';
import { requeueClose } from './store.js';

export interface DeadLetterProcessorOptions {
  connection: Redis;
  prefix: string;
  logger: Logger;
  queues: Pick<Queues, 'closeQueue' | 'closeQueueFor' | 'closeQueueOf' | 'deadLetterQueue'>;
}

/**
 * The dead-letter queue's processor, the parking worker (runs in every worker and UI process):
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
      const d = asObject(job.data);
      if (d.parkedAt === undefined) {
        const history: unknown[] = Array.isArray(d.history) ? d.history : [];
        const shown = history.slice(-CLOSE_JOB_LIMITS.MAX_HISTORY);
        if (shown.length < history.length) await job.log(`${history.length - shown.length} earlier attempts not shown`);
        for (const a of shown) await job.log(describeAttemptLine(a));
        await job.updateData({ ...(d as unknown as DeadLetterData), parkedAt: Date.now() });
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
