import { describe, expect, it } from 'vitest';
import { getQueueStats } from '../../src/shared/queues.js';
import { startPipeline, waitFor } from '../helpers/pipeline.js';

describe('close pipeline', () => {
  it('closes thousands of sessions enqueued as arrays, each exactly once', async () => {
    const p = await startPipeline({ config: { rate: 500, concurrency: 50 } });
    const ids = p.sim.createSessions(3000);
    const half = ids.length / 2;
    const r1 = await p.producer.closeSessions(ids.slice(0, half));
    const r2 = await p.producer.closeSessions([...ids.slice(half), ...ids.slice(0, 10)]);
    expect(r1).toMatchObject({ accepted: half, duplicates: 0, invalidCount: 0 });
    expect(r2).toMatchObject({ accepted: half, duplicates: 10, invalidCount: 0 });
    // A short lock makes jobs that wait over a second for their slot check they still own it.
    const worker = await p.startWorker({ lockDurationMs: 3000 });
    // Distinct sessions: on a machine busy enough to stall a 3 s lock, BullMQ may run a job a
    // second time; the API still saw one release (releasedMoreThanOnce below), the event two.
    const closed = new Set<string>();
    worker.events.on('closed', (r) => closed.add(r.sessionId));
    await waitFor('all sessions COMPLETED', () => (p.sim.stats().sessions.COMPLETED ?? 0) === ids.length);
    await waitFor('all jobs completed', async () => (await getQueueStats(p.producer.queues)).completed === ids.length);
    const stats = p.sim.stats();
    expect(stats.closes.released).toBe(ids.length);
    expect(stats.closes.releasedMoreThanOnce).toBe(0);
    expect(closed.size).toBe(ids.length);
    expect(await getQueueStats(p.producer.queues)).toMatchObject({ waiting: 0, active: 0, delayed: 0, failed: 0, dead: 0 });
    await worker.close();
    await p.close();
  });
});
