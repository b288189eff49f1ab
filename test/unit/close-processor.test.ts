import { DelayedError, UnrecoverableError, WaitingError, type Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { BrowserbaseError, type BrowserbaseClient, type CloseResult } from '../../src/browserbase/index.js';
import { CLOSE_JOB_LIMITS, type CloseJobData } from '../../src/shared/jobs.js';
import { createLogger } from '../../src/shared/logger.js';
import { createCloseProcessor, LockLostError } from '../../src/worker/close-processor.js';
import { WorkerEvents } from '../../src/worker/events.js';
import { InvalidJobError } from '../../src/worker/job-data.js';
import type { GlobalLimiter } from '../../src/worker/limiter.js';
import type { LimiterState } from '../../src/worker/limiter-state.js';

// The processor is a plain function of its dependencies: these tests drive its decisions
// directly (the integration tests run it against Redis and the simulator).

const state: LimiterState = { configuredRate: 10, effectiveRate: 7, concurrency: 5, pausedUntil: 0, last429At: 0, ceiling: 0, rateLimitedTotal: 0 };

function setup(outcome: CloseResult | BrowserbaseError, data: Partial<CloseJobData> = {}, extra: { lockStillHeld?: () => Promise<boolean> } = {}) {
  const calls: string[] = [];
  let pausedUntil = 0;
  const limiter = {
    schedule: <T>(fn: () => Promise<T>) => fn(),
    pausedUntil: () => pausedUntil,
    report429: async (ms: number) => {
      calls.push(`report429:${ms}`);
      pausedUntil = Date.now() + ms;
      return { ...state, pausedUntil };
    },
    reportOk: () => calls.push('ok'),
  } as unknown as GlobalLimiter;
  const client = {
    closeSession: async () => {
      calls.push('close');
      if (outcome instanceof Error) throw outcome;
      return outcome;
    },
  } as unknown as BrowserbaseClient;
  const job = {
    id: 'close-s1',
    timestamp: 1,
    data: { sessionId: 's1', enqueuedAt: 1, ...data } as CloseJobData,
    updateData: async (d: CloseJobData) => {
      calls.push('updateData');
      job.data = d;
    },
    moveToDelayed: async (ts: number) => calls.push(`delayed:${Math.max(0, ts - Date.now())}`),
    moveToWait: async () => calls.push('wait'),
  };
  const processor = createCloseProcessor({
    client,
    limiter,
    logger: createLogger({ level: 'silent', pretty: false }),
    events: new WorkerEvents(),
    pauseQueue: async (ms) => void calls.push(`pauseQueue:${ms > 0}`),
    attempts: 3,
    backoffMs: 100,
    backoffMaxMs: 1000,
    verify: false,
    random: () => 0.5,
    ...(extra.lockStillHeld ? { lockStillHeld: extra.lockStillHeld, lockCheckAfterMs: -1 } : {}),
  });
  const run = () => processor(job as unknown as Job<CloseJobData>, 'token');
  return { calls, job, run };
}

const err = (code: ConstructorParameters<typeof BrowserbaseError>[0], statusCode?: number, retryAfterMs?: number) =>
  new BrowserbaseError(code, `boom ${code}`, { ...(statusCode ? { statusCode } : {}), ...(retryAfterMs ? { retryAfterMs } : {}) });

describe('close processor decisions', () => {
  it('a 200 completes with the seed result shape and the outcome', async () => {
    const { run, calls } = setup({ id: 's1', status: 'RUNNING', outcome: 'closed', httpStatus: 200 });
    await expect(run()).resolves.toMatchObject({ id: 's1', status: 'RUNNING', outcome: 'closed', httpStatus: 200, attempts: 1 });
    expect(calls).toEqual(['close', 'ok']);
  });

  it('a 429 pauses everyone for the server delay and returns the job to wait without an attempt', async () => {
    const { run, calls, job } = setup(err('RATE_LIMITED', 429, 1500));
    await expect(run()).rejects.toBeInstanceOf(WaitingError);
    expect(calls).toEqual(['close', 'report429:1500', 'pauseQueue:true', 'wait']);
    expect(job.data.history).toBeUndefined();
  });

  it('a transient error is retried later with backoff and recorded in the history', async () => {
    const { run, calls, job } = setup(err('TRANSIENT', 503));
    await expect(run()).rejects.toBeInstanceOf(DelayedError);
    expect(calls[0]).toBe('close');
    expect(calls[1]).toBe('updateData');
    expect(calls[2]).toMatch(/^delayed:(4\d|50)$/); // 0.5 * 100 * 2^0
    expect(job.data.history).toMatchObject([{ attempt: 1, code: 'TRANSIENT', httpStatus: 503 }]);
  });

  it('the last attempt fails for good (to the dead-letter queue)', async () => {
    const history = [1, 2].map((attempt) => ({ attempt, at: 0, code: 'TRANSIENT', httpStatus: 502 }));
    const { run, job } = setup(err('TRANSIENT', 503), { history });
    const e = await run().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UnrecoverableError);
    expect((e as Error).message).toBe('TRANSIENT (HTTP 503): boom TRANSIENT');
    expect(job.data.history).toHaveLength(3);
  });

  it('a rejected close is dead-lettered at once', async () => {
    const { run, calls } = setup(err('REJECTED', 401));
    await expect(run()).rejects.toBeInstanceOf(UnrecoverableError);
    expect(calls).toEqual(['close', 'updateData']);
  });

  it('does not send a close whose lock expired while it waited (another worker owns the job)', async () => {
    const { run, calls } = setup({ id: 's1', status: 'RUNNING', outcome: 'closed', httpStatus: 200 }, {}, { lockStillHeld: async () => false });
    await expect(run()).rejects.toBeInstanceOf(LockLostError);
    expect(calls).toEqual([]);
    const held = setup({ id: 's1', status: 'RUNNING', outcome: 'closed', httpStatus: 200 }, {}, { lockStillHeld: async () => true });
    await expect(held.run()).resolves.toMatchObject({ outcome: 'closed' });
  });

  it('a raw job with `attemptsOffset: 1e9` no longer retries for ever: it fails at once as INVALID_JOB, never sent', async () => {
    const history = [{ attempt: 1, at: 1, code: 'TRANSIENT' }];
    const { run, calls, job } = setup(err('TRANSIENT', 503), { history, attemptsOffset: 1e9 });
    const e = await run().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(InvalidJobError);
    expect(e).toBeInstanceOf(UnrecoverableError); // BullMQ fails it without a retry
    // The code is carried structurally (`code`), no longer inside the message.
    expect((e as InvalidJobError).code).toBe('INVALID_JOB');
    expect((e as Error).message).toMatch(/^`attemptsOffset` must be an integer from 0 to the length of `history` \(1\), got 1000000000$/);
    expect(calls).toEqual([]);
    expect(job.data.history).toEqual(history);
  });

  it('a 1 MB server message no longer grows the history: the attempt keeps 1,000 characters and says it was cut', async () => {
    const huge = new BrowserbaseError('TRANSIENT', 'boom', { statusCode: 503, serverMessage: 'x'.repeat(1_000_000) });
    const { run, job } = setup(huge);
    await expect(run()).rejects.toBeInstanceOf(DelayedError);
    const message = job.data.history![0]!.message!;
    expect(message.length).toBeLessThanOrEqual(CLOSE_JOB_LIMITS.MAX_MESSAGE_LENGTH);
    expect(message).toMatch(/… \(cut: 1000000 characters\)$/);
    // What the worker writes, it reads back: the next attempt is not an invalid job.
    const again = setup(huge, job.data);
    await expect(again.run()).rejects.toBeInstanceOf(DelayedError);
    expect(again.job.data.history).toHaveLength(2);
  });

  it('a cancelled request (shutdown) goes back to the queue at once, no attempt used', async () => {
    const { run, calls, job } = setup(err('ABORTED'));
    await expect(run()).rejects.toBeInstanceOf(DelayedError);
    expect(calls).toEqual(['close', 'delayed:0']);
    expect(job.data.history).toBeUndefined();
  });
});
