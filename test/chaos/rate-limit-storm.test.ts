import { describe, expect, it } from 'vitest';
import { readLimiterState } from '../../src/worker/index.js';
import { startPipeline, waitFor } from '../helpers/pipeline.js';
import { reportChaos, spawnWorker, stopWorkers, verifyConservation } from './chaos-fixture.js';

describe('chaos: a 429 storm', () => {
  it('workers configured 10x the real limit while the limit drops to 5/s and jumps to 60/s mid-drain: no close lost, none dead-lettered', async () => {
    const p = await startPipeline({ sim: { rate: 20, burst: 5, faults: { latencyMs: [2, 10] } } });
    const n = 800;
    const ids = p.sim.createSessions(n);
    const startedAt = Date.now();
    expect((await p.producer.closeSessions(ids)).accepted).toBe(n);
    const workers = [spawnWorker(p, ['--rate', '200', '--concurrency', '20']), spawnWorker(p, ['--rate', '200', '--concurrency', '20'])];
    await waitFor('150 closes released', () => p.sim.stats().closes.released >= 150, 120_000, 20);
    p.sim.setRate(5, 2);
    const at5 = p.sim.stats().closes.released;
    await waitFor('35 more closes released at 5/s', () => p.sim.stats().closes.released >= at5 + 35, 120_000, 20);
    p.sim.setRate(60, 10);
    const rose = Date.now();
    const limiterAfterDrop = await readLimiterState(p.producer.redis, p.prefix);
    // the workers' shared effective rate every 5 s after the limit rose (for the report)
    const trace: number[] = [];
    const sampler = setInterval(() => {
      void readLimiterState(p.producer.redis, p.prefix).then((st) => trace.push(Math.round(st?.effectiveRate ?? 0)), () => {});
    }, 5000);

    const counts = await verifyConservation(p, ids, startedAt).finally(() => clearInterval(sampler));
    const secondsAfterRise = Math.round((Date.now() - rose) / 1000);
    const r429 = counts.byStatus['429'] ?? 0;
    expect(r429).toBeGreaterThan(0); // the storm really happened
    expect(counts.deadLettered).toBe(0); // a 429 never uses up an attempt
    const limiterAtEnd = await readLimiterState(p.producer.redis, p.prefix);
    reportChaos('429 storm', {
      ...counts,
      r429,
      share429: Math.round((1000 * r429) / counts.apiRequests) / 10,
      effectiveRateWhenLimitRose: Math.round(limiterAfterDrop?.effectiveRate ?? 0),
      effectiveRateAtEnd: Math.round(limiterAtEnd?.effectiveRate ?? 0),
      effectiveRateEvery5sAfterRise: trace,
      secondsAfterRise,
    });
    await stopWorkers(workers);
    await p.close();
  }, 300_000);
});
