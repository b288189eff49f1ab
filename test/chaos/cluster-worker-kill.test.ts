import { describe, expect, it } from 'vitest';
import { startPipeline } from '../helpers/pipeline.js';
import { startRedisCluster } from '../helpers/redis-cluster.js';
import { killWorkersDuring, reportChaos, stopWorkers, verifyConservation } from './chaos-fixture.js';

describe('chaos on Redis Cluster: worker processes killed with SIGKILL', () => {
  it('kill -9 a worker three times during a 3 000-close drain on a three-master cluster: nothing lost, every close final', async () => {
    const cluster = await startRedisCluster();
    try {
      const p = await startPipeline({ redisUrl: cluster.url, redisEnv: { BB_REAPER_REDIS_CLUSTER: 'true' }, sim: { faults: { latencyMs: [5, 20] } } });
      const n = 3000;
      const ids = p.sim.createSessions(n);
      const startedAt = Date.now();
      expect((await p.producer.closeSessions(ids)).accepted).toBe(n);
      const { workers, kills } = await killWorkersDuring(p, ['--rate', '400', '--concurrency', '20'], [600, 1300, 2000]);
      expect(kills.map((k) => k.signal)).toEqual(['SIGKILL', 'SIGKILL', 'SIGKILL']);
      for (const k of kills) expect(k.releasedAtKill).toBeLessThan(n);

      const counts = await verifyConservation(p, ids, startedAt);
      expect(counts.deadLettered).toBe(0);
      // a close in flight when its worker died may be sent again (closing twice is harmless); few are
      expect(counts.releasedMoreThanOnce).toBeLessThanOrEqual(3 * 20);
      reportChaos('cluster kill-9 x3', { ...counts, killsAtReleased: kills.map((k) => k.releasedAtKill) });
      await stopWorkers(workers);
      await p.close();
    } finally {
      await cluster.close();
    }
  }, 300_000);
});
