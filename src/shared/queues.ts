import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { CLOSE_QUEUE, DEAD_LETTER_QUEUE } from './names.js';
import type { CloseJobData, DeadLetterData } from './jobs.js';

/** How long completed close jobs are kept (seconds) and how many at most. */
export const COMPLETED_RETENTION = { age: 24 * 3600, count: 200_000 } as const;

export interface Queues {
  closeQueue: Queue<CloseJobData>;
  deadLetterQueue: Queue<DeadLetterData>;
  prefix: string;
  close(): Promise<void>;
}

/**
 * The two BullMQ queues, under the configured prefix, on a shared connection (the caller owns it).
 * Default job options live here so every producer (library, CLI, ingress, re-drive) agrees.
 */
export function createQueues({ connection, prefix }: { connection: Redis; prefix: string }): Queues {
  const closeQueue = new Queue<CloseJobData>(CLOSE_QUEUE, {
    connection,
    prefix,
    defaultJobOptions: { removeOnComplete: COMPLETED_RETENTION, removeOnFail: false },
  });
  const deadLetterQueue = new Queue<DeadLetterData>(DEAD_LETTER_QUEUE, {
    connection,
    prefix,
    defaultJobOptions: { removeOnComplete: true, removeOnFail: false },
  });
  closeQueue.on('error', () => {});
  deadLetterQueue.on('error', () => {});
  return {
    closeQueue,
    deadLetterQueue,
    prefix,
    async close() {
      await Promise.all([closeQueue.close(), deadLetterQueue.close()]);
    },
  };
}

export interface QueueStats {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  completed: number;
  /** Dead letters (all states of the dead-letter queue). */
  dead: number;
}

/** Counts of the close queue by state, and the number of dead letters. */
export async function getQueueStats({ closeQueue, deadLetterQueue }: Pick<Queues, 'closeQueue' | 'deadLetterQueue'>): Promise<QueueStats> {
  const [c, d] = await Promise.all([
    closeQueue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized', 'waiting-children'),
    deadLetterQueue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized'),
  ]);
  const n = (v: number | undefined) => v ?? 0;
  return {
    waiting: n(c.waiting) + n(c.prioritized) + n(c['waiting-children']),
    active: n(c.active),
    delayed: n(c.delayed),
    failed: n(c.failed),
    completed: n(c.completed),
    dead: n(d.waiting) + n(d.active) + n(d.delayed) + n(d.failed) + n(d.prioritized),
  };
}
