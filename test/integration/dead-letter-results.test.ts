import { UnrecoverableError, Worker } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { createResultsWriter, readResults } from '../../src/results/index.js';
import type { CloseJobData } from '../../src/shared/jobs.js';
import { CLOSE_QUEUE, closeJobId } from '../../src/shared/names.js';
import { createRedis } from '../../src/shared/redis.js';
import { redriveDeadLetters } from '../../src/worker/index.js';
import { testRedisUrl, track, trackRedis } from '../helpers/context.js';
import { startPipeline, waitFor, type PipelineFixture } from '../helpers/pipeline.js';

/**
 * Fails the close jobs it takes the way BullMQ leaves them when the worker died between failing a
 * job and moving it to the dead-letter queue: failed, and nothing listening moved it. Only the
 * backstop sweep of the next close worker can find them.
 */
async function failWithoutMoving(p: PipelineFixture, jobId: string): Promise<void> {
  const connection = trackRedis(createRedis(testRedisUrl(), { role: 'worker' }));
  const failer = track(
    new Worker<CloseJobData>(
      CLOSE_QUEUE,
      async () => {
        throw new UnrecoverableError('the worker died before moving this job');
      },
      { connection, prefix: p.prefix },
    ),
    'failing worker',
  );
  failer.on('error', () => {});
  await waitFor('the close job failed', async () => (await p.producer.queues.closeQueue.getJob(jobId))?.failedReason !== undefined);
  await failer.close();
  await connection.quit();
}

describe('dead-letter results', () => {
  it('a re-driven close that fails twice, both failures recorded by the backstop sweep, no longer loses its second dead_lettered result', async () => {
    const p = await startPipeline();
    const redis = trackRedis(createRedis(testRedisUrl(), { role: 'producer' }));
    // Remembers each written run for an hour: both failures fall well within it.
    const results = createResultsWriter({ redis, prefix: p.prefix, dedupeTtlSeconds: 3600 });
    const [session] = p.sim.createSessions(1) as [string];
    const jobId = closeJobId(session);
    const deadLettered = async () => (await readResults({ redis, prefix: p.prefix })).filter((r) => r.jobId === jobId && r.outcome === 'dead_lettered');

    await p.producer.closeSessions([session]);
    await failWithoutMoving(p, jobId);
    // A close worker starting later moves it through its backstop sweep (no DLQ processor: the letter stays as moved).
    const first = await p.startWorker({ results, deadLetterProcessor: false });
    await waitFor('the first letter', async () => (await p.producer.queues.deadLetterQueue.getJob(jobId)) !== undefined);
    await first.close();
    expect(await deadLettered()).toHaveLength(1);

    expect((await redriveDeadLetters(p.producer.queues, { ids: [jobId] })).redriven).toEqual([jobId]);
    await failWithoutMoving(p, jobId);
    const second = await p.startWorker({ results, deadLetterProcessor: false });
    await waitFor('the second letter', async () => (await p.producer.queues.deadLetterQueue.getJob(jobId))?.data.redriveCount === 1);
    await second.close();

    const recorded = await deadLettered();
    expect(recorded).toHaveLength(2);
    expect(recorded.map((r) => r.sessionId)).toEqual([session, session]);

    await redis.quit();
    await p.close();
  });
});
