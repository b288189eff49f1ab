import { Queue } from 'bullmq';
import { BbReaperError } from './errors.js';
import { Cluster, type Redis } from './redis.js';
import { accountKeyPrefix, accountOfJobId, closeQueueName, DEAD_LETTER_QUEUE, DEFAULT_ACCOUNT, hashTagOf } from './names.js';
import type { CloseJobData, DeadLetterData } from './jobs.js';

/**
 * How long completed close jobs are kept (seconds) and how many at most: the one source, used as
 * the close queue's default job option and by the worker when a job completes.
 */
export const COMPLETED_RETENTION = { age: 24 * 3600, count: 200_000 } as const;

/**
 * The states of the dead-letter queue that hold dead letters, the one definition `dlq list`,
 * `/api/dlq`, every count (`stats`, `/api/stats`, `/metrics`), `dlq retry --all` and `dlq purge`
 * use. A letter is `waiting` when just moved there, `active` for the moment the DLQ processor
 * parks it (or re-drives it after a Retry), `failed` once parked; `delayed` and `prioritized` only
 * when another client added it so. A `completed` letter was re-driven: it is no dead letter (and
 * is removed at once). Listed in the order a letter moves through them.
 */
export const DEAD_LETTER_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'failed'] as const;
export type DeadLetterState = (typeof DEAD_LETTER_STATES)[number];

export interface Queues {
  /** The close queue of the `default` account (`closeQueueFor('default')`). */
  closeQueue: Queue<CloseJobData>;
  /** The close queue of an account (made on first use, then the same object; closed by `close()`). */
  closeQueueFor(account: string): Queue<CloseJobData>;
  /** The close queue a close job id belongs to (its id names its account: `shared/names.ts`). */
  closeQueueOf(jobId: string): Queue<CloseJobData>;
  deadLetterQueue: Queue<DeadLetterData>;
  prefix: string;
  /** The connection the queues use (the caller owns it), for the few reads done outside BullMQ (`shared/bullmq-keys.ts`). */
  connection?: Redis;
  close(): Promise<void>;
}

/**
 * Throws `INVALID_OPTION` when `connection` is a Redis Cluster and `prefix` holds no hash tag:
 * BullMQ's scripts touch several keys of a queue at once, which a cluster refuses across slots.
 * Every queue bb-reaper opens passes through here.
 */
export function assertClusterSafePrefix(connection: Redis, prefix: string): void {
  if (connection instanceof Cluster && hashTagOf(prefix) === undefined) {
    throw new BbReaperError('INVALID_OPTION', `Expected a key prefix with a hash tag on Redis Cluster (e.g. \`{${prefix}}\`: use keyPrefix({ prefix, redisCluster: true })), got \`${prefix}\``);
  }
}

/**
 * The two BullMQ queues, under the key prefix (`keyPrefix`), on a shared connection (the caller owns it).
 * Default job options live here so every producer (library, CLI, ingress, re-drive) agrees.
 */
export function createQueues({ connection, prefix }: { connection: Redis; prefix: string }): Queues {
  assertClusterSafePrefix(connection, prefix);
  const closeQueues = new Map<string, Queue<CloseJobData>>();
  const closeQueueFor = (account: string): Queue<CloseJobData> => {
    let q = closeQueues.get(account);
    if (!q) {
      q = new Queue<CloseJobData>(closeQueueName(account), {
        connection,
        prefix: accountKeyPrefix(prefix, account),
        defaultJobOptions: { removeOnComplete: COMPLETED_RETENTION, removeOnFail: false },
      });
      q.on('error', () => {});
      closeQueues.set(account, q);
    }
    return q;
  };
  const closeQueue = closeQueueFor(DEFAULT_ACCOUNT);
  const deadLetterQueue = new Queue<DeadLetterData>(DEAD_LETTER_QUEUE, {
    connection,
    prefix,
    defaultJobOptions: { removeOnComplete: true, removeOnFail: false },
  });
  deadLetterQueue.on('error', () => {});
  return {
    closeQueue,
    closeQueueFor,
    closeQueueOf: (jobId) => closeQueueFor(accountOfJobId(jobId)),
    deadLetterQueue,
    prefix,
    connection,
    async close() {
      await Promise.all([...[...closeQueues.values()].map((q) => q.close()), deadLetterQueue.close()]);
    },
  };
}

export interface QueueStats {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  completed: number;
  /** Dead letters: the dead-letter queue in every one of {@link DEAD_LETTER_STATES}. */
  dead: number;
}

/** Counts of the close queue by state, and the number of dead letters. */
export async function getQueueStats({ closeQueue, deadLetterQueue }: Pick<Queues, 'closeQueue' | 'closeQueueFor' | 'closeQueueOf' | 'deadLetterQueue'>): Promise<QueueStats> {
  const [c, d] = await Promise.all([
    closeQueue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized', 'waiting-children'),
    deadLetterQueue.getJobCounts(...DEAD_LETTER_STATES),
  ]);
  const n = (v: number | undefined) => v ?? 0;
  return {
    waiting: n(c.waiting) + n(c.prioritized) + n(c['waiting-children']),
    active: n(c.active),
    delayed: n(c.delayed),
    failed: n(c.failed),
    completed: n(c.completed),
    dead: DEAD_LETTER_STATES.reduce((sum, state) => sum + n(d[state]), 0),
  };
}
