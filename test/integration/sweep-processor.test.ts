import { afterEach, describe, expect, it } from 'vitest';
import { createRedis } from '../../src/shared/redis.js';
import { closeJobId } from '../../src/shared/names.js';
import { runSweep } from '../../src/sweep/run-sweep.js';
import { createSweepQueue, listSweepSchedules, removeSweepSchedule, upsertSweepSchedule } from '../../src/sweep/scheduler.js';
import { parseSweepJobData, startSweepProcessor } from '../../src/sweep/processor.js';
import { testRedisUrl, track, trackRedis } from '../helpers/context.js';
import { SIM_KEY, startPipeline, testLogger, waitFor, type PipelineFixture } from '../helpers/pipeline.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await (cleanups.pop() as () => Promise<unknown>)();
});

async function fleet(): Promise<{ p: PipelineFixture; orphans: string[]; others: string[] }> {
  const p = await startPipeline();
  cleanups.push(async () => {
    await p.close();
  });
  const orphans = [
    ...p.sim.createSessions(3, { startedAgoSeconds: 3600, userMetadata: { owner: 'ci' } }),
    ...p.sim.createSessions(1, { startedAgoSeconds: 1200, userMetadata: { owner: 'ci' }, status: 'PENDING' }),
  ];
  const others = [
    ...p.sim.createSessions(2, { startedAgoSeconds: 30, userMetadata: { owner: 'ci' } }), // too young
    ...p.sim.createSessions(2, { startedAgoSeconds: 3600, userMetadata: { owner: 'ci' }, keepAlive: true }), // keepAlive
    ...p.sim.createSessions(2, { startedAgoSeconds: 3600, userMetadata: { owner: 'someone-else' } }), // no match
  ];
  return { p, orphans, others };
}

async function enqueuedSessions(p: PipelineFixture): Promise<string[]> {
  const jobs = await p.producer.queues.closeQueue.getJobs(['waiting', 'active', 'delayed', 'completed', 'prioritized']);
  return jobs.map((j) => j.data.sessionId).sort();
}

describe('orphan sweeps', () => {
  it('runSweep selects by age, metadata query and keepAlive, and enqueues with source `sweep`', async () => {
    const { p, orphans } = await fleet();
    const target = { queues: p.producer.queues, redis: p.producer.redis };
    const dry = await runSweep({ client: p.client, target, params: { olderThanMs: 600_000, q: "user_metadata['owner']:'ci'" }, dryRun: true });
    expect(dry.orphans.map((o) => o.id).sort()).toEqual([...orphans].sort());
    expect(dry).toMatchObject({ scanned: 8, skippedYoung: 2, skippedKeepAlive: 2, dryRun: true });
    expect(dry.enqueued).toBeUndefined();
    expect(await enqueuedSessions(p)).toEqual([]);
    const real = await runSweep({ client: p.client, target, params: { olderThanMs: 600_000, q: "user_metadata['owner']:'ci'" } });
    expect(real.enqueued).toMatchObject({ accepted: 4, duplicates: 0, invalid: 0 });
    expect(await enqueuedSessions(p)).toEqual([...orphans].sort());
    expect((await p.producer.queues.closeQueue.getJob(closeJobId(orphans[0] as string)))?.data.source).toBe('sweep');
    const withKept = await runSweep({ client: p.client, target, params: { olderThanMs: 600_000, q: "user_metadata['owner']:'ci'", includeKeepAlive: true } });
    expect(withKept.enqueued).toMatchObject({ accepted: 2, duplicates: 4 });
  });

  it('a scheduled sweep runs in the sweep processor, closes orphans through the worker, and its job data holds no key', async () => {
    const { p, orphans, others } = await fleet();
    const connection = trackRedis(createRedis(testRedisUrl(), { role: 'worker', name: 'sweep-test' }));
    cleanups.push(() => connection.quit());
    const queue = createSweepQueue({ connection, prefix: p.prefix });
    cleanups.push(() => queue.close());
    await upsertSweepSchedule(queue, { everyMs: 60_000, params: { olderThanMs: 600_000, q: "user_metadata['owner']:'ci'" } });
    expect(await listSweepSchedules(queue)).toEqual([
      expect.objectContaining({ name: 'default', everyMs: 60_000, params: { olderThanMs: 600_000, q: "user_metadata['owner']:'ci'" } }),
    ]);
    const worker = await p.startWorker();
    cleanups.push(() => worker.close());
    const sweeper = track(startSweepProcessor({ connection, prefix: p.prefix, client: p.client, logger: testLogger() }), 'sweep processor');
    cleanups.push(() => sweeper.close());
    await waitFor('orphans closed', () => orphans.every((id) => p.sim.getSession(id)?.status === 'COMPLETED'), 30_000);
    expect(others.every((id) => p.sim.getSession(id)?.status === 'RUNNING')).toBe(true);
    const done = await queue.getCompleted();
    expect(done[0]?.returnvalue).toMatchObject({ scanned: 8, orphans: 4, accepted: 4, skippedKeepAlive: 2, skippedYoung: 2 });
    // Nothing under the prefix mentions the API key.
    const keys = await connection.keys(`${p.prefix}:sweep:*`);
    for (const key of keys) {
      const type = await connection.type(key);
      const dump = type === 'hash' ? JSON.stringify(await connection.hgetall(key)) : type === 'string' ? String(await connection.get(key)) : '';
      expect(dump).not.toContain(SIM_KEY);
    }
    expect(await removeSweepSchedule(queue)).toBe(true);
    expect(await listSweepSchedules(queue)).toEqual([]);
    expect(await removeSweepSchedule(queue)).toBe(false);
  });

  it('rejects sweep jobs with bad data instead of sweeping everything', () => {
    expect(() => parseSweepJobData({})).toThrowError(/olderThanMs/);
    expect(() => parseSweepJobData({ olderThanMs: 0 })).toThrowError(/olderThanMs/);
    expect(() => parseSweepJobData({ olderThanMs: 1000, q: 5 })).toThrowError(/`q`/);
    expect(parseSweepJobData({ olderThanMs: 1000, includeKeepAlive: false, extra: 1 })).toEqual({ olderThanMs: 1000 });
  });
});
