import { describe, expect, it } from 'vitest';
import { startPipeline } from '../helpers/pipeline.js';
import { killWorkersDuring, reportChaos, stopWorkers, verifyConservation } from './chaos-fixture.js';

describe('chaos: worker processes killed with SIGKILL', () => {
  it('kill -9 a worker three times during a 5 000-close drain: nothing lost, every close final', async () => {
    const p = await startPipeline({ sim: { faults: { latencyMs: [5, 20] } } });
    const n = 5000;
    const ids = p.sim.createSessions(n);
    const startedAt = Date.now();
    expect((await p.producer.closeSessions(ids)).accepted).toBe(n);
    const { workers, kills } = await killWorkersDuring(p, ['--rate', '400', '--concurrency', '20'], [1000, 2200, 3400]);
    // each kill hit a live worker in the middle of the drain
    expect(kills.map((k) => k.signal)).toEqual(['SIGKILL', 'SIGKILL', 'SIGKILL']);
    for (const k of kills) expect(k.releasedAtKill).toBeLessThan(n);

    const counts = await verifyConservation(p, ids, startedAt);
    expect(counts.deadLettered).toBe(0);
    // a close in flight when its worker died may be sent again (closing twice is harmless); few are
    expect(counts.releasedMoreThanOnce).toBeLessThanOrEqual(3 * 20);
    reportChaos('kill-9 x3', { ...counts, killsAtReleased: kills.map((k) => k.releasedAtKill) });
    await stopWorkers(workers);
    await p.close();
  }, 300_000);
});
