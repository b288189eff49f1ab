import { Queue, UnrecoverableError, Worker } from 'bullmq';
import type { DeadLetterData } from '../../src/shared/jobs.js';
import { closeJobId, DEAD_LETTER_JOB_NAME, DEAD_LETTER_QUEUE } from '../../src/shared/names.js';
import { DEAD_LETTER_STATES, type DeadLetterState } from '../../src/shared/queues.js';
import { createRedis } from '../../src/shared/redis.js';
import { track, trackRedis } from './context.js';
import { waitFor } from './wait.js';

/** A letter as the worker writes it, for session `sessionId`. */
export function letterFor(sessionId: string, at = Date.now()): DeadLetterData {
  return {
    sourceQueue: 'close',
    sourceJobId: closeJobId(sessionId),
    sourceJobTimestamp: at,
    sessionId,
    enqueuedAt: at,
    deadLetteredAt: at,
    attemptsMade: 1,
    errorCode: 'REJECTED',
    httpStatus: 401,
    message: 'Invalid API key',
    history: [{ attempt: 1, at, code: 'REJECTED', httpStatus: 401, message: 'Invalid API key' }],
  };
}

export interface LettersInEveryState {
  /** Session ids of the letters, by the state each letter is in. */
  sessions: Record<DeadLetterState, string[]>;
  /** Every letter id (`close-<session>`). */
  ids: string[];
  /** The `active` letters stop being held: they fail, i.e. are parked in `failed`. */
  release(): void;
  /** Releases, resumes the queue and closes what this opened. */
  close(): Promise<void>;
}

/**
 * Puts `perState` dead letters in each of {@link DEAD_LETTER_STATES} under `prefix`, with real
 * BullMQ: a stand-in for the DLQ processor parks (fails) some and holds others `active` (as if it
 * were parking them right now); then the DLQ is paused, so new letters stay `waiting`,
 * `prioritized` or `delayed` whatever other processor runs (a UI server's).
 */
export async function lettersInEveryState(redisUrl: string, prefix: string, perState = 1): Promise<LettersInEveryState> {
  const connection = trackRedis(createRedis(redisUrl, { role: 'producer' }));
  const workerConnection = trackRedis(createRedis(redisUrl, { role: 'worker' }));
  const dlq = new Queue<DeadLetterData>(DEAD_LETTER_QUEUE, { connection, prefix });
  dlq.on('error', () => {});
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const parker = track(
    new Worker<DeadLetterData>(
      DEAD_LETTER_QUEUE,
      async (job) => {
        if (job.data.sessionId.startsWith('active-')) await held;
        throw new UnrecoverableError(`parked ${job.data.sessionId}`);
      },
      { connection: workerConnection, prefix, concurrency: perState * 2 + 1 },
    ),
    'dlq stand-in worker',
  );
  parker.on('error', () => {});
  const sessions = Object.fromEntries(DEAD_LETTER_STATES.map((s) => [s, Array.from({ length: perState }, (_, i) => `${s}-${i}`)])) as Record<DeadLetterState, string[]>;
  const add = (sessionId: string, opts: { priority?: number; delay?: number } = {}) => dlq.add(DEAD_LETTER_JOB_NAME, letterFor(sessionId), { jobId: closeJobId(sessionId), ...opts });

  for (const s of [...sessions.failed, ...sessions.active]) await add(s);
  await waitFor('failed and active letters', async () => {
    const c = await dlq.getJobCounts('failed', 'active');
    return c.failed === perState && c.active === perState;
  });
  await dlq.pause();
  for (const s of sessions.waiting) await add(s);
  for (const s of sessions.prioritized) await add(s, { priority: 3 });
  for (const s of sessions.delayed) await add(s, { delay: 3_600_000 });
  await waitFor('a letter in every state', async () => Object.values(await dlq.getJobCounts(...DEAD_LETTER_STATES)).every((n) => n === perState));

  return {
    sessions,
    ids: Object.values(sessions).flat().map(closeJobId),
    release,
    async close() {
      release();
      await parker.close();
      await dlq.resume().catch(() => {});
      await dlq.close();
      await Promise.all([connection.quit(), workerConnection.quit()]);
    },
  };
}
