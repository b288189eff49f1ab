import { UnrecoverableError, Worker, type Job, type Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { createProducer, type Producer } from '../../src/producer/index.js';
import { waitForCloses, type WaitProgress } from '../../src/ops/wait-for-closes.js';
import type { CloseJobData, CloseJobResult, DeadLetterData } from '../../src/shared/jobs.js';
import { closeJobId, DEAD_LETTER_JOB_NAME } from '../../src/shared/names.js';
import { createRedis } from '../../src/shared/redis.js';
import { testRedisUrl, track, trackRedis, uniquePrefix } from '../helpers/context.js';

// waitForCloses reads job states only; these tests put jobs into each state with plain BullMQ
// workers (the real close worker is exercised by the CLI end-to-end tests).

let producer: Producer;
const closers: Array<() => Promise<unknown>> = [];

function setup() {
  const prefix = uniquePrefix('wait');
  const connection = trackRedis(createRedis(testRedisUrl(), { role: 'worker', name: 'wait-test' }));
  producer = track(createProducer({ connection, prefix }), 'producer');
  closers.push(async () => {
    await producer.close();
    await connection.quit();
  });
  return { prefix, connection, target: { queues: producer.queues, redis: producer.redis } };
}

afterEach(async () => {
  while (closers.length) await (closers.pop() as () => Promise<unknown>)();
});

function result(sessionId: string, outcome: CloseJobResult['outcome']): CloseJobResult {
  return { id: sessionId, status: 'COMPLETED', outcome, httpStatus: outcome === 'already_gone' ? 404 : 200, attempts: 1, finishedAt: Date.now() };
}

/** Runs a worker on a queue of the test's prefix until `until()` holds. */
async function runWorker<T>(prefix: string, queueName: string, processor: (job: Job<T>) => Promise<unknown>, until: () => Promise<boolean>): Promise<void> {
  const connection = trackRedis(createRedis(testRedisUrl(), { name: 'wait-test-worker' }));
  const worker = track(new Worker<T>(queueName, processor, { connection, prefix }), 'worker');
  worker.on('error', () => {});
  const deadline = Date.now() + 20_000;
  while (!(await until())) {
    if (Date.now() > deadline) throw new Error(`condition not reached on ${queueName}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  await worker.close();
  await connection.quit();
}

/** Parks a dead letter for a session in the failed state of the dead-letter queue. */
async function parkDeadLetter(prefix: string, dlq: Queue<DeadLetterData>, sessionId: string, deadLetteredAt = Date.now()) {
  const jobId = closeJobId(sessionId);
  await dlq.add(
    DEAD_LETTER_JOB_NAME,
    {
      sourceQueue: 'close', sourceJobId: jobId, sessionId, enqueuedAt: deadLetteredAt - 10, deadLetteredAt, attemptsMade: 1,
      errorCode: 'REJECTED', httpStatus: 401, message: 'Invalid API key', history: [], parkedAt: Date.now(),
    },
    { jobId },
  );
  await runWorker<DeadLetterData>(prefix, 'dead-letter', async (job) => {
    throw new UnrecoverableError(`REJECTED (HTTP 401): Invalid API key — session ${job.data.sessionId}, 1 attempt`);
  }, async () => (await dlq.getJobCountByTypes('failed')) >= 1 && (await dlq.getJobState(jobId)) === 'failed');
}

describe('waitForCloses', () => {
  it('reports completed closes by outcome, deduplicates ids and reports progress', async () => {
    const { prefix, target } = setup();
    const report = await producer.closeSessions(['s-1', 's-2', 's-3', 's-1']);
    expect(report.jobIds).toHaveLength(4);
    const outcomes: Record<string, CloseJobResult['outcome']> = { 's-1': 'closed', 's-2': 'verified', 's-3': 'already_gone' };
    const progress: WaitProgress[] = [];
    const waiting = waitForCloses(target, report.jobIds, { pollMs: 20, onProgress: (p) => progress.push(p) });
    await runWorker<CloseJobData>(prefix, 'close', async (job) => result(job.data.sessionId, outcomes[job.data.sessionId] ?? 'closed'),
      async () => (await producer.queues.closeQueue.getCompletedCount()) === 3);
    const final = await waiting;
    expect(final).toMatchObject({ total: 3, closed: 2, alreadyGone: 1, deadLettered: 0, pending: 0, aborted: false });
    expect(progress.at(-1)).toEqual({ total: 3, closed: 2, alreadyGone: 1, deadLettered: 0, pending: 0 });
    expect(progress.some((p) => p.pending > 0)).toBe(true);
  });

  it('reports a close that was moved to the dead-letter queue as dead-lettered, with its reason', async () => {
    const { prefix, target } = setup();
    const report = await producer.closeSessions(['ok-1', 'bad-1']);
    await parkDeadLetter(prefix, producer.queues.deadLetterQueue, 'bad-1');
    await producer.queues.closeQueue.remove(closeJobId('bad-1'));
    await runWorker<CloseJobData>(prefix, 'close', async (job) => result(job.data.sessionId, 'closed'),
      async () => (await producer.queues.closeQueue.getCompletedCount()) === 1);
    const final = await waitForCloses(target, report.jobIds, { pollMs: 10 });
    expect(final).toMatchObject({ total: 2, closed: 1, deadLettered: 1, pending: 0 });
    expect(final.deadLetters).toEqual([
      { jobId: closeJobId('bad-1'), sessionId: 'bad-1', errorCode: 'REJECTED', httpStatus: 401, message: expect.stringContaining('Invalid API key') },
    ]);
  });

  it('counts a close left failed in the close queue (not moved to the DLQ) as dead-lettered after a second look', async () => {
    const { prefix, target } = setup();
    const report = await producer.closeSessions(['f-1']);
    await runWorker<CloseJobData>(prefix, 'close', async () => {
      throw new UnrecoverableError('REJECTED (HTTP 403): forbidden');
    }, async () => (await producer.queues.closeQueue.getFailedCount()) === 1);
    const final = await waitForCloses(target, report.jobIds, { pollMs: 10 });
    expect(final).toMatchObject({ total: 1, deadLettered: 1, pending: 0 });
    expect(final.deadLetters[0]).toMatchObject({ jobId: closeJobId('f-1'), sessionId: 'f-1', message: expect.stringContaining('forbidden') });
  });

  it('treats a dead letter being re-driven as pending and follows the fresh close job', async () => {
    const { prefix, target } = setup();
    const dlq = producer.queues.deadLetterQueue;
    await parkDeadLetter(prefix, dlq, 'redo-1');
    const jobId = closeJobId('redo-1');
    // Re-drive in progress: the dead letter is back in `waiting`, no close job exists yet.
    await (await dlq.getJob(jobId))?.retry();
    expect(await dlq.getJobState(jobId)).toBe('waiting');
    const progress: WaitProgress[] = [];
    const controller = new AbortController();
    const waiting = waitForCloses(target, [jobId], { pollMs: 10, signal: controller.signal, onProgress: (p) => {
      progress.push(p);
      if (progress.length === 5) void redrive();
    } });
    let redriven = false;
    async function redrive() {
      await producer.closeSessions(['redo-1'], { source: 'redrive' });
      await (await dlq.getJob(jobId))?.remove();
      redriven = true;
    }
    await runWorker<CloseJobData>(prefix, 'close', async (job) => result(job.data.sessionId, 'closed'),
      async () => redriven && (await producer.queues.closeQueue.getCompletedCount()) === 1);
    const final = await waiting;
    expect(progress.slice(0, 5).every((p) => p.pending === 1)).toBe(true);
    expect(final).toMatchObject({ total: 1, closed: 1, deadLettered: 0, pending: 0 });
  });

  it('counts a close job that is gone without a dead letter as completed and removed by retention', async () => {
    const { target } = setup();
    const report = await producer.closeSessions(['gone-1']);
    await producer.queues.closeQueue.remove(closeJobId('gone-1'));
    const final = await waitForCloses(target, report.jobIds, { pollMs: 10 });
    expect(final).toMatchObject({ total: 1, closed: 1, deadLettered: 0, pending: 0 });
  });

  it('counts a dead letter not parked yet (no dead-letter processor running) as dead-lettered', async () => {
    const { target } = setup();
    const report = await producer.closeSessions(['fresh-1']);
    const jobId = closeJobId('fresh-1');
    await producer.queues.deadLetterQueue.add(DEAD_LETTER_JOB_NAME, {
      sourceQueue: 'close', sourceJobId: jobId, sessionId: 'fresh-1', enqueuedAt: Date.now(), deadLetteredAt: Date.now(), attemptsMade: 5,
      errorCode: 'TRANSIENT', httpStatus: 503, message: 'Service Unavailable', history: [],
    }, { jobId });
    await producer.queues.closeQueue.remove(jobId);
    const final = await waitForCloses(target, report.jobIds, { pollMs: 10 });
    expect(final).toMatchObject({ total: 1, deadLettered: 1, pending: 0 });
    expect(final.deadLetters[0]).toMatchObject({ sessionId: 'fresh-1', errorCode: 'TRANSIENT', httpStatus: 503 });
  });

  it('reports a parked dead letter beside a missing close job as dead-lettered even when it is older (never a false success)', async () => {
    const { prefix, target } = setup();
    await parkDeadLetter(prefix, producer.queues.deadLetterQueue, 'again-1', Date.now() - 3_600_000);
    const report = await producer.closeSessions(['again-1']);
    await producer.queues.closeQueue.remove(closeJobId('again-1'));
    const final = await waitForCloses(target, report.jobIds, { pollMs: 10 });
    expect(final).toMatchObject({ total: 1, closed: 0, deadLettered: 1 });
  });

  it('stops when aborted and reports what is still pending', async () => {
    const { target } = setup();
    const report = await producer.closeSessions(['p-1', 'p-2']);
    const controller = new AbortController();
    let passes = 0;
    const final = await waitForCloses(target, report.jobIds, {
      pollMs: 10,
      signal: controller.signal,
      onProgress: () => {
        if (++passes === 3) controller.abort();
      },
    });
    expect(final).toMatchObject({ total: 2, pending: 2, aborted: true, closed: 0 });
  });

  it('reads large sets in batches', async () => {
    const { prefix, target } = setup();
    const ids = Array.from({ length: 1200 }, (_, i) => `bulk-${i}`);
    const report = await producer.closeSessions(ids);
    await runWorker<CloseJobData>(prefix, 'close', async (job) => result(job.data.sessionId, 'closed'),
      async () => (await producer.queues.closeQueue.getCompletedCount()) === 1200);
    const final = await waitForCloses(target, report.jobIds, { pollMs: 10, batchSize: 100 });
    expect(final).toMatchObject({ total: 1200, closed: 1200, pending: 0 });
  });
});
