import { describe, expect, it } from 'vitest';
import { getQueueStats } from '../../src/shared/queues.js';
import { spawnCli } from '../helpers/cli-process.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { track } from '../helpers/context.js';
import { SIM_KEY, startPipeline, waitFor } from '../helpers/pipeline.js';

describe('nothing is lost when things break', () => {
  it('a worker killed with SIGKILL mid-drain: its jobs are recovered by another worker', async () => {
    const p = await startPipeline({ sim: { faults: { latencyMs: [5, 20] } }, config: { rate: 100, concurrency: 10 } });
    const n = 800;
    const ids = p.sim.createSessions(n);
    await p.producer.closeSessions(ids);
    const env = { REDIS_URL: p.config.redisUrl, BB_REAPER_PREFIX: p.prefix, BROWSERBASE_API_KEY: SIM_KEY, BROWSERBASE_BASE_URL: p.sim.url };
    const args = ['worker', '--rate', '100', '--concurrency', '10', '--no-ingress', '--lock-duration', '2000', '--request-timeout', '1500'];
    const victim = spawnCli(args, { env });
    await waitFor('victim closed some', () => p.sim.stats().closes.released >= 100, 60_000);
    victim.kill('SIGKILL');
    await victim.exited;
    await victim.close();
    const survivor = spawnCli(args, { env });
    await waitFor('every session completed', () => (p.sim.stats().sessions.COMPLETED ?? 0) === n, 120_000, 100);
    await waitFor('every job completed', async () => (await getQueueStats(p.producer.queues)).completed === n, 30_000);
    const s = await getQueueStats(p.producer.queues);
    expect(s).toMatchObject({ waiting: 0, active: 0, delayed: 0, failed: 0, dead: 0, completed: n });
    // a close in flight when the worker died may be sent twice; nothing else is
    expect(p.sim.stats().closes.releasedMoreThanOnce).toBeLessThanOrEqual(10);
    survivor.kill('SIGTERM');
    expect((await survivor.exited).code).toBe(0);
    await survivor.close();
    await p.close();
  }, 180_000);

  it('Redis restarted mid-drain (append-only persistence): every close still completes', async () => {
    const redis = track(await startRedisServer({ appendOnly: true }), 'redis-server');
    const p = await startPipeline({ redisUrl: redis.url, config: { rate: 200, concurrency: 20 } });
    const n = 1500;
    const ids = p.sim.createSessions(n);
    await p.producer.closeSessions(ids);
    const worker = await p.startWorker({ lockDurationMs: 3000, stalledIntervalMs: 1500 });
    await waitFor('some closed', () => p.sim.stats().closes.released >= 300, 60_000);
    await redis.stop();
    await redis.start();
    await waitFor('every session completed', () => (p.sim.stats().sessions.COMPLETED ?? 0) === n, 120_000, 100);
    await waitFor('every job final', async () => {
      const s = await getQueueStats(p.producer.queues);
      return s.completed + s.dead === n && s.waiting + s.active + s.delayed === 0;
    }, 60_000, 200);
    expect((await getQueueStats(p.producer.queues)).dead).toBe(0);
    await worker.close();
    await p.close();
    await redis.close();
  }, 180_000);

  it('keeps working after Redis loses everything (restart without persistence): the Bottleneck Redis 7 hazard', async () => {
    const redis = track(await startRedisServer({ appendOnly: false }), 'redis-server');
    const p = await startPipeline({ redisUrl: redis.url, config: { rate: 200, concurrency: 20 } });
    const worker = await p.startWorker();
    const first = p.sim.createSessions(50);
    await p.producer.closeSessions(first);
    await waitFor('first batch closed', () => first.every((id) => p.sim.getSession(id)?.status === 'COMPLETED'));
    await redis.stop();
    await redis.start(); // empty: the limiter's settings key is gone
    const second = p.sim.createSessions(50);
    await waitFor('producer reconnected', async () => {
      try {
        await p.producer.redis.ping();
        return true;
      } catch {
        return false;
      }
    });
    await p.producer.closeSessions(second);
    await waitFor('second batch closed', () => second.every((id) => p.sim.getSession(id)?.status === 'COMPLETED'), 60_000);
    expect((await getQueueStats(p.producer.queues)).dead).toBe(0);
    await worker.close();
    await p.close();
    await redis.close();
  }, 120_000);
});
