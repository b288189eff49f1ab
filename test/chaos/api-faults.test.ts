import { describe, expect, it } from 'vitest';
import { startPipeline } from '../helpers/pipeline.js';
import { reportChaos, spawnWorker, stopWorkers, verifyConservation } from './chaos-fixture.js';

describe('chaos: a failing API', () => {
  it('30% 5xx + 5% connection resets + 5% hangs: every close ends closed or dead-lettered with its reason', async () => {
    const p = await startPipeline({ sim: { faults: { errorRate: 0.3, resetRate: 0.05, hangRate: 0.05, latencyMs: [2, 10] } } });
    const n = 2000;
    const ids = p.sim.createSessions(n);
    const startedAt = Date.now();
    expect((await p.producer.closeSessions(ids)).accepted).toBe(n);
    // 4 attempts: about 0.4^4 = 2.6% of closes fail every attempt and must be dead-lettered
    const args = ['--rate', '300', '--concurrency', '40', '--attempts', '4', '--backoff-ms', '100'];
    const workers = [spawnWorker(p, args), spawnWorker(p, args)];

    const counts = await verifyConservation(p, ids, startedAt);
    // every fault really happened
    const fivexx = Object.entries(counts.byStatus).filter(([s]) => s.startsWith('5')).reduce((a, [, v]) => a + v, 0);
    expect(fivexx).toBeGreaterThan(0);
    expect(counts.resets).toBeGreaterThan(0);
    expect(counts.hangs).toBeGreaterThan(0);
    // the dead-letter path was exercised (about 52 expected), and failures are transient only, so every dead letter is TRANSIENT after all 4 attempts
    expect(counts.deadLettered).toBeGreaterThan(0);
    expect(Object.keys(counts.deadLetterCodes).every((c) => c === 'TRANSIENT')).toBe(true);
    // a faulted request changes nothing: a dead-lettered session was really never closed
    const letters = await p.producer.queues.deadLetterQueue.getFailed(0, -1);
    for (const l of letters) {
      expect(l.data.attemptsMade).toBe(4);
      expect(p.sim.getSession(l.data.sessionId)?.status).toBe('RUNNING');
    }
    reportChaos('api faults', { ...counts, fivexx });
    await stopWorkers(workers);
    await p.close();
  }, 300_000);
});
