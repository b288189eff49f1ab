import { describe, expect, it } from 'vitest';
import type { DeadLetterData } from '../../src/shared/jobs.js';
import { CLOSE_JOB_NAME, DEAD_LETTER_JOB_NAME, closeJobId } from '../../src/shared/names.js';
import { startPipeline, waitFor } from '../helpers/pipeline.js';
import { send, startUi } from '../helpers/ui-fixture.js';

// Close jobs may be added by any BullMQ client, and dead letters too: these are the raw jobs
// that once retried for ever or took the queue UI down.

interface BoardJob {
  id: string;
  name: string;
  data: Record<string, unknown>;
  failedReason?: string;
}
interface BoardQueue {
  name: string;
  jobs: BoardJob[];
}

const attempt = (at: number) => ({ attempt: 1, at, code: 'TRANSIENT', httpStatus: 503, message: 'Service Unavailable' });

describe('hostile close jobs', () => {
  it('a raw job with `attemptsOffset: 1e9` no longer retries for ever: it is dead-lettered as INVALID_JOB at once, never sent', async () => {
    const pipe = await startPipeline();
    const [bad, good] = pipe.sim.createSessions(2) as [string, string];
    const { closeQueue, deadLetterQueue } = pipe.producer.queues;
    await closeQueue.add(CLOSE_JOB_NAME, { sessionId: bad, enqueuedAt: Date.now(), history: [attempt(Date.now())], attemptsOffset: 1e9 }, { jobId: closeJobId(bad) });
    await closeQueue.add(CLOSE_JOB_NAME, { sessionId: good, enqueuedAt: Date.now() }, { jobId: closeJobId(good) });
    const worker = await pipe.startWorker({ config: { backoffMs: 1 } });

    await waitFor('the invalid job in the dead-letter queue', async () => (await deadLetterQueue.getJob(closeJobId(bad))) !== undefined);
    await waitFor('the valid close', () => pipe.sim.stats().closes.released === 1);
    const letter = (await deadLetterQueue.getJob(closeJobId(bad)))!.data;
    expect(letter).toMatchObject({ sessionId: bad, errorCode: 'INVALID_JOB', attemptsMade: 0 });
    expect(letter.message).toMatch(/^`attemptsOffset` must be an integer from 0 to the length of `history` \(1\), got 1000000000$/);
    expect(await closeQueue.getJob(closeJobId(bad))).toBeUndefined();
    await worker.close();

    // The simulator saw one close only: the valid one. The invalid job was never sent.
    expect(pipe.sim.stats().closes.calls).toBe(1);
    expect(pipe.sim.calls().filter((c) => c.path.includes(encodeURIComponent(bad)))).toEqual([]);
    await pipe.close();
  });
});

describe('hostile jobs in the queue UI', () => {
  it('raw jobs with `enqueuedAt: 1e300` no longer break the close and dead-letter lists: both answer 200 with every job, the bad time shown as unreadable', async () => {
    const pipe = await startPipeline();
    const { closeQueue, deadLetterQueue } = pipe.producer.queues;
    const now = Date.now();
    // Close queue (no worker runs: they stay waiting).
    await closeQueue.add(CLOSE_JOB_NAME, { sessionId: 'bad-enqueued', enqueuedAt: 1e300 }, { jobId: closeJobId('bad-enqueued') });
    await closeQueue.add(CLOSE_JOB_NAME, { sessionId: 'bad-history', enqueuedAt: now, history: [attempt(1e300)] }, { jobId: closeJobId('bad-history') });
    await closeQueue.add(CLOSE_JOB_NAME, { sessionId: 'good-close', enqueuedAt: now }, { jobId: closeJobId('good-close') });
    // Dead-letter queue: the UI's dead-letter processor parks each (and logs one line per attempt).
    const letter = (over: Partial<Record<keyof DeadLetterData, unknown>>): DeadLetterData => ({
      sourceQueue: 'close',
      sourceJobId: closeJobId(String(over.sessionId)),
      enqueuedAt: now,
      deadLetteredAt: now,
      attemptsMade: 1,
      errorCode: 'TRANSIENT',
      httpStatus: 503,
      message: 'Service Unavailable',
      history: [attempt(now)],
      ...over,
    }) as DeadLetterData;
    await deadLetterQueue.add(DEAD_LETTER_JOB_NAME, letter({ sessionId: 'bad-enqueued', enqueuedAt: 1e300 }), { jobId: closeJobId('bad-enqueued') });
    await deadLetterQueue.add(DEAD_LETTER_JOB_NAME, letter({ sessionId: 'bad-history', history: [attempt(1e300)] }), { jobId: closeJobId('bad-history') });
    await deadLetterQueue.add(DEAD_LETTER_JOB_NAME, letter({ sessionId: 'good-letter' }), { jobId: closeJobId('good-letter') });

    const ui = await startUi({ prefix: pipe.prefix });
    await waitFor('three parked dead letters', async () => (await deadLetterQueue.getJobCounts('failed')).failed === 3);

    const list = async (queue: string, status: string) => {
      const r = await send(`${ui.url}/ui/api/queues?activeQueue=${queue}&status=${status}&page=1&jobsPerPage=10`);
      expect(r.status, r.body.slice(0, 500)).toBe(200);
      const jobs = r.json<{ queues: BoardQueue[] }>().queues.find((q) => q.name === queue)!.jobs;
      return new Map(jobs.map((j) => [j.id, j]));
    };

    const close = await list('close', 'waiting');
    expect([...close.keys()].sort()).toEqual(['bad-enqueued', 'bad-history', 'good-close'].map(closeJobId).sort());
    expect(close.get(closeJobId('good-close'))!.data.enqueued).toBe(new Date(now).toISOString());
    expect(close.get(closeJobId('bad-enqueued'))).toMatchObject({ name: 'close · bad-enqueued', data: { session: 'bad-enqueued', enqueued: '(not a time: 1e+300)' } });
    expect(close.get(closeJobId('bad-history'))!.data.history).toEqual(['#1 (not a time: 1e+300) TRANSIENT HTTP 503 — Service Unavailable']);

    const dead = await list('dead-letter', 'failed');
    expect([...dead.keys()].sort()).toEqual(['bad-enqueued', 'bad-history', 'good-letter'].map(closeJobId).sort());
    expect(dead.get(closeJobId('good-letter'))).toMatchObject({ name: 'TRANSIENT 503 · good-letter', data: { enqueued: new Date(now).toISOString() } });
    const badEnqueued = dead.get(closeJobId('bad-enqueued'))!;
    expect(badEnqueued.data).toMatchObject({ session: 'bad-enqueued', enqueued: '(not a time: 1e+300)' });
    expect(badEnqueued.failedReason).toMatch(/^TRANSIENT \(HTTP 503\): Service Unavailable — session bad-enqueued, 1 attempt, enqueued \(not a time: 1e\+300\), dead-lettered \d{4}-/);
    expect(dead.get(closeJobId('bad-history'))!.data.history).toEqual(['#1 (not a time: 1e+300) TRANSIENT HTTP 503 — Service Unavailable']);
    const logs = (await send(`${ui.url}/ui/api/queues/dead-letter/${encodeURIComponent(closeJobId('bad-history'))}/logs`)).json<string[]>();
    expect(logs).toEqual(['attempt 1 at (not a time: 1e+300): TRANSIENT HTTP 503 — Service Unavailable']);

    await ui.server.close();
    await pipe.close();
  });
});
