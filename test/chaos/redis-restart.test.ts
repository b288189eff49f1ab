import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { track } from '../helpers/context.js';
import { startPipeline, waitFor } from '../helpers/pipeline.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { reportChaos, spawnWorker, stopWorkers, verifyConservation } from './chaos-fixture.js';

/** How long Redis stays down: the fault itself, not a wait for a condition. */
const OUTAGE_MS = 2000;

describe('chaos: Redis restarted mid-drain', () => {
  it('Redis (append-only, fsync always) stopped for 2 s and restarted during a 3 000-close drain by two worker processes', async () => {
    const redis = track(await startRedisServer({ appendOnly: true }), 'redis-server');
    const p = await startPipeline({ redisUrl: redis.url, sim: { faults: { latencyMs: [5, 20] } } });
    const n = 3000;
    const ids = p.sim.createSessions(n);
    const startedAt = Date.now();
    expect((await p.producer.closeSessions(ids)).accepted).toBe(n);
    const args = ['--rate', '300', '--concurrency', '20'];
    const workers = [spawnWorker(p, args, redis.url), spawnWorker(p, args, redis.url)];
    await waitFor('1000 closes released', () => p.sim.stats().closes.released >= 1000, 120_000, 20);
    const releasedAtStop = p.sim.stats().closes.released;
    await redis.stop();
    await sleep(OUTAGE_MS);
    const releasedWhileDown = p.sim.stats().closes.released - releasedAtStop;
    await redis.start();
    expect(releasedAtStop).toBeLessThan(n);
    await waitFor('producer reconnected', async () => {
      try {
        return (await p.producer.redis.ping()) === 'PONG';
      } catch {
        return false;
      }
    }, 30_000, 100);

    const counts = await verifyConservation(p, ids, startedAt);
    expect(counts.deadLettered).toBe(0);
    reportChaos('redis restart', { ...counts, releasedAtStop, releasedWhileDown, outageMs: OUTAGE_MS });
    await stopWorkers(workers);
    await p.close();
    await redis.close();
  }, 300_000);
});
