import { describe, expect, it } from 'vitest';
import { getQueueStats } from '../../src/shared/queues.js';
import { listDeadLetters, readLimiterState, redriveDeadLetters } from '../../src/worker/index.js';
import { startPipeline, waitFor } from '../helpers/pipeline.js';

describe('worker under API faults', () => {
  it('under 20% 5xx, resets and hangs every close ends closed or dead-lettered with its reason', async () => {
    const p = await startPipeline({ sim: { faults: { errorRate: 0.2, resetRate: 0.05, hangRate: 0.02 } } });
    const ids = p.sim.createSessions(600);
    await p.producer.closeSessions(ids);
    // Short request timeouts so hangs turn into retries quickly; few attempts so some dead-letter.
    const { createBrowserbaseClient } = await import('../../src/browserbase/index.js');
    const client = createBrowserbaseClient({ apiKey: 'sim-key', baseUrl: p.sim.url, headersTimeoutMs: 300, bodyTimeoutMs: 300 });
    const worker = await p.startWorker({ client, config: { rate: 400, concurrency: 40, attempts: 3, backoffMs: 20 }, backoffMaxMs: 200 });
    let retries = 0;
    worker.events.on('retrying', () => retries++);
    await waitFor('every close final', async () => {
      const s = await getQueueStats(p.producer.queues);
      return s.completed + s.dead === ids.length && s.waiting + s.active + s.delayed === 0;
    }, 120_000, 100);
    const s = await getQueueStats(p.producer.queues);
    const letters = await listDeadLetters(p.producer.queues, { start: 0, end: 10_000 });
    expect(s.completed + letters.length).toBe(ids.length);
    expect(retries).toBeGreaterThan(0);
    for (const l of letters) {
      expect(l.data.errorCode).toBe('TRANSIENT');
      expect(l.data.message.length).toBeGreaterThan(0);
      expect(l.data.attemptsMade).toBe(3);
      expect(l.data.history).toHaveLength(3);
    }
    // every completed close really is COMPLETED in the simulator
    const closedIds = ids.filter((id) => !letters.some((l) => l.data.sessionId === id));
    for (const id of closedIds) expect(['COMPLETED', 'RUNNING']).toContain(p.sim.getSession(id)?.status);
    await waitFor('released sessions complete', () => closedIds.every((id) => p.sim.getSession(id)?.status === 'COMPLETED'), 10_000);
    await worker.close();
    await client.close();
    await p.close();
  }, 180_000);

  it('dead-letters a rejected close at once, and a re-drive closes it once the cause is fixed', async () => {
    const p = await startPipeline();
    const [good, bad] = p.sim.createSessions(2);
    const { createBrowserbaseClient } = await import('../../src/browserbase/index.js');
    const wrongKey = createBrowserbaseClient({ apiKey: 'wrong-key', baseUrl: p.sim.url });
    const worker = await p.startWorker({ client: wrongKey });
    const dead: string[] = [];
    worker.events.on('dead-lettered', (l) => dead.push(l.sessionId));
    await p.producer.closeSessions([bad!]);
    await waitFor('dead letter parked', async () => (await listDeadLetters(p.producer.queues)).some((l) => l.state === 'failed'));
    const [letter] = await listDeadLetters(p.producer.queues);
    expect(dead).toEqual([bad]);
    expect(letter?.data).toMatchObject({ sessionId: bad, errorCode: 'REJECTED', httpStatus: 401, attemptsMade: 1, sourceQueue: 'close' });
    expect(letter?.failedReason).toMatch(/^REJECTED \(HTTP 401\): .+ — session /);
    expect(JSON.stringify(letter)).not.toContain('wrong-key');
    expect((await getQueueStats(p.producer.queues)).failed).toBe(0);
    await worker.close();
    await wrongKey.close();

    const fixed = await p.startWorker();
    await p.producer.closeSessions([good!]);
    const r = await redriveDeadLetters(p.producer.queues, { all: true });
    expect(r.redriven).toEqual([letter?.id]);
    await waitFor('both closed', () => p.sim.getSession(bad!)?.status === 'COMPLETED' && p.sim.getSession(good!)?.status === 'COMPLETED');
    await waitFor('DLQ empty', async () => (await getQueueStats(p.producer.queues)).dead === 0);
    await fixed.close();
    await p.close();
  });

  it('re-drives a parked dead letter when it is retried (what Bull Board\'s Retry button does)', async () => {
    const p = await startPipeline({ sim: { faults: { errorRate: 1 } } });
    const [id] = p.sim.createSessions(1);
    const worker = await p.startWorker({ config: { attempts: 2, backoffMs: 10 } });
    await p.producer.closeSessions([id!]);
    await waitFor('parked', async () => (await listDeadLetters(p.producer.queues)).some((l) => l.state === 'failed'));
    const job = (await p.producer.queues.deadLetterQueue.getFailed())[0];
    expect((await p.producer.queues.deadLetterQueue.getJobLogs(job!.id!)).logs).toHaveLength(2);
    p.sim.setFaults({ errorRate: 0 });
    await job!.retry('failed');
    await waitFor('closed after retry', () => p.sim.getSession(id!)?.status === 'COMPLETED');
    await waitFor('nothing left in the DLQ', async () => (await getQueueStats(p.producer.queues)).dead === 0);
    await worker.close();
    await p.close();
  });

  it('dead-letters invalid job data from other producers without calling the API', async () => {
    const p = await startPipeline();
    const worker = await p.startWorker();
    await p.producer.queues.closeQueue.add('close-session', { sessionId: '../etc/passwd', enqueuedAt: Date.now() }, { jobId: 'close-bad' });
    await waitFor('dead-lettered', async () => (await listDeadLetters(p.producer.queues)).length === 1);
    const [l] = await listDeadLetters(p.producer.queues);
    expect(l?.data.errorCode).toBe('INVALID_JOB');
    expect(l?.data.message).toMatch(/^invalid `sessionId`/);
    expect(p.sim.stats().requests.total).toBe(0);
    await worker.close();
    await p.close();
  });

  it('a newer failure of the same session replaces its older dead letter', async () => {
    const p = await startPipeline();
    const [id] = p.sim.createSessions(1);
    const { createBrowserbaseClient } = await import('../../src/browserbase/index.js');
    const wrongKey = createBrowserbaseClient({ apiKey: 'wrong-key', baseUrl: p.sim.url });
    const w1 = await p.startWorker({ client: wrongKey });
    await p.producer.closeSessions([id!]);
    await waitFor('first letter parked', async () => (await listDeadLetters(p.producer.queues)).some((l) => l.state === 'failed'));
    await w1.close();
    await wrongKey.close();
    p.sim.setFaults({ errorRate: 1 });
    const w2 = await p.startWorker({ config: { attempts: 1 } });
    expect((await p.producer.closeSessions([id!])).accepted).toBe(1); // the earlier close job is gone: a fresh one
    await waitFor('second letter parked', async () => (await listDeadLetters(p.producer.queues)).some((l) => l.state === 'failed' && l.data.errorCode === 'TRANSIENT'));
    const letters = await listDeadLetters(p.producer.queues);
    expect(letters).toHaveLength(1);
    expect(letters[0]?.data).toMatchObject({ sessionId: id, errorCode: 'TRANSIENT' });
    await w2.close();
    await p.close();
  });

  it('a 429 stops every worker fetching until the pause ends, each on its own (nothing is left paused in Redis), and costs no attempt', async () => {
    const p = await startPipeline({ sim: { rate: 5, burst: 1, retryAfterMsHeader: true } });
    const ids = p.sim.createSessions(40);
    const a = await p.startWorker({ config: { rate: 200, concurrency: 4, attempts: 1 } });
    const b = await p.startWorker({ config: { rate: 200, concurrency: 4, attempts: 1 } });
    let bothPaused = false;
    const watch = setInterval(() => {
      if (a.worker.isPaused() && b.worker.isPaused()) bothPaused = true;
    }, 1);
    await p.producer.closeSessions(ids);
    await waitFor('both workers held off fetching at once', () => bothPaused, 60_000, 5);
    await waitFor('all closed', () => (p.sim.stats().sessions.COMPLETED ?? 0) === ids.length, 120_000, 50);
    clearInterval(watch);
    const s = p.sim.stats();
    console.log(`pause after 429: ${s.requests.byStatus['429'] ?? 0} 429s of ${s.requests.total} requests`);
    expect(s.requests.byStatus['429'] ?? 0).toBeGreaterThan(0);
    expect((await getQueueStats(p.producer.queues)).dead).toBe(0); // attempts: 1, yet no 429 used one
    await waitFor('both fetching again', () => !a.worker.isPaused() && !b.worker.isPaused(), 30_000, 20);
    expect(await p.producer.queues.closeQueue.getRateLimitTtl()).toBeLessThanOrEqual(0);
    await a.close();
    await b.close();
    await p.close();
  }, 180_000);

  it('converges when configured at 4x the real limit: no 429 dead-letters, few 429s', async () => {
    const real = 50;
    const p = await startPipeline({ sim: { rate: real, burst: 10 } });
    const ids = p.sim.createSessions(real * 12);
    await p.producer.closeSessions(ids);
    const worker = await p.startWorker({ config: { rate: real * 4, concurrency: 20, attempts: 2 } });
    await waitFor('all closed', () => (p.sim.stats().sessions.COMPLETED ?? 0) === ids.length, 120_000, 100);
    const s = p.sim.stats();
    const r429 = s.requests.byStatus['429'] ?? 0;
    const state = await readLimiterState(p.producer.redis, p.prefix);
    console.log(`4x limit: 429s=${r429} of ${s.requests.total} (${((100 * r429) / s.requests.total).toFixed(1)}%), effective rate now ${state?.effectiveRate.toFixed(1)}`);
    expect((await getQueueStats(p.producer.queues)).dead).toBe(0);
    expect(r429 / s.requests.total).toBeLessThan(0.1);
    expect(state!.effectiveRate).toBeLessThan(real * 1.5);
    await worker.close();
    await p.close();
  }, 180_000);
});
