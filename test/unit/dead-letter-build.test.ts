import type { Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import type { CloseJobData, DeadLetterData } from '../../src/shared/jobs.js';
import { previewValue } from '../../src/shared/printable.js';
import { buildDeadLetter, deadLetterResult, describeDeadLetter, describeFailure } from '../../src/dead-letters/index.js';
import { BULLMQ_STALLED_REASON } from '../../src/shared/bullmq-keys.js';

// buildDeadLetter reads a BullMQ job's plain fields only: a plain object stands in for the job.
const failedJob = (data: unknown, failedReason?: string) => ({ id: 'close-s-1', timestamp: 1000, data, ...(failedReason ? { failedReason } : {}) }) as unknown as Job<CloseJobData>;

describe('dead letters of hostile jobs', () => {
  it('the letter of an invalid job names why, not the last record of its history', () => {
    const history = [{ attempt: 1, at: 5, code: 'TRANSIENT', httpStatus: 503, message: 'down' }];
    const reason = 'INVALID_JOB: `attemptsOffset` must be an integer from 0 to the length of `history` (1), got 1000000000';
    const letter = buildDeadLetter(failedJob({ sessionId: 's-1', enqueuedAt: 7, history, attemptsOffset: 1e9 }, reason), 99);
    expect(letter).toMatchObject({ sessionId: 's-1', errorCode: 'INVALID_JOB', attemptsMade: 0, enqueuedAt: 7, deadLetteredAt: 99, history });
    expect(letter.message).toBe(reason.replace('INVALID_JOB: ', ''));
    expect(letter.httpStatus).toBeUndefined();
  });

  it('a 1,000,000-record history is no longer copied into the letter: the newest 1,000 are', () => {
    const history = Array.from({ length: 1_000_000 }, (_, i) => ({ attempt: i + 1, at: 0, code: 'TRANSIENT' }));
    const letter = buildDeadLetter(failedJob({ sessionId: 's-1', history }, 'INVALID_JOB: too long'));
    expect(letter.history).toHaveLength(1000);
    expect(letter.history[0]).toMatchObject({ attempt: 999_001 });
    expect(letter.attemptsMade).toBe(1_000_000);
  });

  it('garbage data no longer crashes the letter, and every text in it is bounded', () => {
    const garbage: unknown[] = [
      null,
      'data',
      [1, 2],
      { sessionId: Object.create(null), projectId: 5, requestId: 'r'.repeat(100_000), enqueuedAt: 'now', history: [null, 'x', { at: 'then', attempt: {}, code: 5, message: 'm'.repeat(100_000) }], redriveCount: -1 },
    ];
    for (const data of garbage) {
      const letter = buildDeadLetter(failedJob(data, `INVALID_JOB: ${'e'.repeat(10_000)}`), 99);
      expect(JSON.stringify(letter).length, previewValue(data)).toBeLessThan(10_000);
      expect(typeof letter.sessionId).toBe('string');
      expect(letter.enqueuedAt).toBe(typeof (data as { enqueuedAt?: unknown } | null)?.enqueuedAt === 'number' ? (data as { enqueuedAt: number }).enqueuedAt : 1000);
      expect(describeDeadLetter(letter)).toMatch(/^INVALID_JOB: e+… \(cut: 10000 characters\) — session /);
    }
    const last = buildDeadLetter(failedJob(garbage[3], 'INVALID_JOB: bad'));
    expect(last.sessionId).toBe('(not a string: "{}")');
    expect(last.projectId).toBeUndefined();
    expect(last.requestId!.length).toBeLessThanOrEqual(1000);
    expect(last.history).toEqual([
      { attempt: 0, at: 0, code: 'UNKNOWN', message: '(not an attempt record: "null")' },
      { attempt: 0, at: 0, code: 'UNKNOWN', message: '(not an attempt record: "x")' },
      { attempt: 0, at: 0, code: 'UNKNOWN', message: expect.stringMatching(/^m+… \(cut: 100000 characters\)$/) },
    ]);
    expect(last.redriveCount).toBeUndefined();
  });

  it('describeDeadLetter no longer throws on a letter added with `enqueuedAt: 1e300`', () => {
    const letter = { sessionId: 's-1', errorCode: 'TRANSIENT', message: 'down\u001b[2J', attemptsMade: 2, enqueuedAt: 1e300, deadLetteredAt: 'soon' } as unknown as DeadLetterData;
    expect(describeDeadLetter(letter)).toBe('TRANSIENT: down\\x1b[2J — session s-1, 2 attempts, enqueued (not a time: 1e+300), dead-lettered (not a time: "soon")');
    expect(describeDeadLetter(null as unknown as DeadLetterData)).toBe('UNKNOWN: unknown failure — session (no session id), ? attempts, enqueued (not a time: "undefined"), dead-lettered (not a time: "undefined")');
  });
});

describe('the code of a dead letter comes from the job, never parsed out of a message', () => {
  const valid = { sessionId: 's-1', enqueuedAt: 7 };

  it('a code-looking failure reason is no longer taken as the code: a valid job failed with `READONLY ...` reads UNKNOWN', () => {
    const letter = buildDeadLetter(failedJob(valid, 'READONLY You can\'t write against a read only replica.'), 99);
    expect(letter).toMatchObject({ errorCode: 'UNKNOWN', message: 'READONLY You can\'t write against a read only replica.' });
  });

  it('a job BullMQ failed for stalling too often reads STALLED (BullMQ\'s own reason), with no record of its own', () => {
    expect(buildDeadLetter(failedJob(valid, BULLMQ_STALLED_REASON), 99)).toMatchObject({ errorCode: 'STALLED', message: BULLMQ_STALLED_REASON, attemptsMade: 0 });
    // Only BullMQ's exact reason: a message that merely mentions stalling is not a stall.
    expect(buildDeadLetter(failedJob(valid, 'upstream stalled'), 99).errorCode).toBe('UNKNOWN');
  });

  it('a close that failed for good takes code, HTTP status and message from its newest attempt record', () => {
    const history = [
      { attempt: 1, at: 5, code: 'TRANSIENT', httpStatus: 503, message: 'down' },
      { attempt: 2, at: 6, code: 'REJECTED', httpStatus: 401, message: 'Invalid API key' },
    ];
    const letter = buildDeadLetter(failedJob({ ...valid, history }, 'TRANSIENT (HTTP 503): anything'), 99);
    expect(letter).toMatchObject({ errorCode: 'REJECTED', httpStatus: 401, message: 'Invalid API key', attemptsMade: 2 });
  });

  it('an invalid job is known by its data: the reason the worker writes now (no `INVALID_JOB:` in it) still reads INVALID_JOB', () => {
    const reason = '`attemptsOffset` must be an integer from 0 to the length of `history` (0), got 5';
    expect(buildDeadLetter(failedJob({ ...valid, attemptsOffset: 5 }, reason), 99)).toMatchObject({ errorCode: 'INVALID_JOB', message: reason });
    // No reason at all (failed by another client): the check's own reason.
    expect(buildDeadLetter(failedJob({ ...valid, attemptsOffset: 5 }), 99).message).toBe(reason);
  });

  it('the result of a letter is named by the source job\'s run, so each failure of a re-driven close is its own result', () => {
    const first = buildDeadLetter(failedJob(valid, 'x'), 99);
    const again = buildDeadLetter({ ...failedJob({ ...valid, redriveCount: 1 }, 'x'), timestamp: 2000 } as unknown as Job<CloseJobData>, 199);
    expect(first.sourceJobTimestamp).toBe(1000);
    expect(deadLetterResult(first)).toMatchObject({ jobId: 'close-s-1', jobTimestamp: 1000, outcome: 'dead_lettered', errorCode: 'UNKNOWN', finishedAt: 99 });
    expect(deadLetterResult(again).jobTimestamp).toBe(2000);
    // A letter written before `sourceJobTimestamp` existed keeps the old identity.
    const { sourceJobTimestamp: _ignored, ...older } = first;
    expect(deadLetterResult(older).jobTimestamp).toBe(7);
  });

  it('a failure reads `CODE (HTTP n): message` everywhere, made printable', () => {
    expect(describeFailure({ code: 'REJECTED', httpStatus: 401, message: 'Invalid API key' })).toBe('REJECTED (HTTP 401): Invalid API key');
    expect(describeFailure({ code: 'TRANSIENT', message: 'down\u001b[2J' })).toBe('TRANSIENT: down\\x1b[2J');
    expect(describeFailure({ message: 'just a message' })).toBe('just a message');
  });
});
